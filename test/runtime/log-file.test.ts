import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { LineSplitter, LogFile } from '../../src/runtime/log-file.js'

const dirs: string[] = []
function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pryv-runtime-log-'))
  dirs.push(dir)
  return dir
}

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('LogFile', () => {
  it('writes readable lines and reads them back with tail and since', () => {
    const dir = newDir()
    const log = new LogFile(dir, 1_000_000)
    log.write('stdout', 'first', new Date('2026-01-01T00:00:00.000Z'))
    log.write('stderr', 'second with  spaces', new Date('2026-01-01T00:00:01.000Z'))
    log.write('stdout', 'third', new Date('2026-01-01T00:00:02.000Z'))
    log.close()
    expect(readFileSync(join(dir, 'output.log'), 'utf8').split('\n')[1]).toBe('2026-01-01T00:00:01.000Z stderr second with  spaces')
    expect(log.read().map((l) => l.text)).toEqual(['first', 'second with  spaces', 'third'])
    expect(log.read(2).map((l) => `${l.stream}:${l.text}`)).toEqual(['stderr:second with  spaces', 'stdout:third'])
    expect(log.read(undefined, new Date('2026-01-01T00:00:01.000Z')).map((l) => l.text)).toEqual(['second with  spaces', 'third'])
  })

  it('rotates past the size cap and keeps a bounded number of files', () => {
    const dir = newDir()
    const log = new LogFile(dir, 200)
    for (let i = 0; i < 100; i++) log.write('stdout', `line ${i} ${'x'.repeat(20)}`)
    log.close()
    expect(readdirSync(dir).sort()).toEqual(['output.log', 'output.log.1', 'output.log.2', 'output.log.3'])
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).length).toBeLessThanOrEqual(200)
    const tail = log.read(6).map((l) => l.text.split(' ')[1])
    expect(tail).toEqual(['94', '95', '96', '97', '98', '99'])
  })

  it('tells subscribers about new lines until they unsubscribe', () => {
    const log = new LogFile(newDir(), 1_000)
    const seen: string[] = []
    const unsubscribe = log.subscribe((l) => seen.push(l.text))
    log.write('stdout', 'a')
    unsubscribe()
    log.write('stdout', 'b')
    log.close()
    expect(seen).toEqual(['a'])
  })
})

describe('LineSplitter', () => {
  it('joins partial chunks, keeps multi-byte characters whole, and flushes the rest', () => {
    const lines: string[] = []
    const splitter = new LineSplitter((l) => lines.push(l))
    const euro = Buffer.from('€')
    splitter.push(Buffer.from('ab'))
    splitter.push(Buffer.concat([Buffer.from('c\nd'), euro.subarray(0, 1)]))
    splitter.push(Buffer.concat([euro.subarray(1), Buffer.from('\ntail')]))
    expect(lines).toEqual(['abc', 'd€'])
    splitter.flush()
    expect(lines).toEqual(['abc', 'd€', 'tail'])
  })

  it('cuts a line longer than the limit', () => {
    const lines: string[] = []
    const splitter = new LineSplitter((l) => lines.push(l), 10)
    splitter.push(Buffer.from('x'.repeat(25)))
    expect(lines).toEqual(['x'.repeat(25)])
  })
})
