import { EventEmitter } from 'node:events'
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { StringDecoder } from 'node:string_decoder'
import { LOG_FILES_KEPT } from './constants.js'
import type { LogLine } from './runtime.js'

const FILE = 'output.log'

/**
 * A service's output in `<log-dir>/output.log`, one line per output line: `<ISO time> <stream> <text>`.
 * Past `maxBytes` the file is rotated (output.log.1 … .N). Writes are synchronous so that a reader that
 * subscribes and then reads the file in the same tick misses no line and sees none twice.
 */
export class LogFile {
  readonly #dir: string
  readonly #maxBytes: number
  readonly #events = new EventEmitter()
  #fd: number | null = null
  #size = 0
  #removed = false

  constructor(dir: string, maxBytes: number) {
    this.#dir = dir
    this.#maxBytes = maxBytes
    this.#events.setMaxListeners(0)
  }

  /** Ignored after `remove()`: a dying service may still flush output. */
  write(stream: LogLine['stream'], text: string, time = new Date()): void {
    if (this.#removed) return
    const line: LogLine = { stream, text, time }
    const bytes = Buffer.from(`${time.toISOString()} ${stream} ${text}\n`)
    if (this.#fd === null) this.#open()
    if (this.#size > 0 && this.#size + bytes.length > this.#maxBytes) this.#rotate()
    writeSync(this.#fd!, bytes)
    this.#size += bytes.length
    this.#events.emit('line', line)
  }

  /** Calls `listener` for every line written from now on; returns the unsubscribe function. */
  subscribe(listener: (line: LogLine) => void): () => void {
    this.#events.on('line', listener)
    return () => this.#events.off('line', listener)
  }

  /** Past lines, oldest first, from the current file and as many rotated ones as `tail` needs. */
  read(tail?: number, since?: Date): LogLine[] {
    const lines: LogLine[] = []
    for (let i = 0; i <= LOG_FILES_KEPT && (tail === undefined || lines.length < tail); i++) {
      const path = this.#path(i)
      if (!existsSync(path)) break
      const parsed = readFileSync(path, 'utf8').split('\n').flatMap(parseLine)
      lines.unshift(...parsed)
    }
    const recent = since === undefined ? lines : lines.filter((l) => l.time >= since)
    return tail === undefined ? recent : recent.slice(Math.max(0, recent.length - tail))
  }

  close(): void {
    if (this.#fd !== null) closeSync(this.#fd)
    this.#fd = null
  }

  /** Closes and deletes every file. */
  remove(): void {
    this.#removed = true
    this.close()
    for (let i = 0; i <= LOG_FILES_KEPT; i++) rmSync(this.#path(i), { force: true })
  }

  #path(generation: number): string {
    return join(this.#dir, generation === 0 ? FILE : `${FILE}.${generation}`)
  }

  #open(): void {
    mkdirSync(this.#dir, { recursive: true })
    this.#fd = openSync(this.#path(0), 'a')
    this.#size = fstatSync(this.#fd).size
  }

  #rotate(): void {
    this.close()
    rmSync(this.#path(LOG_FILES_KEPT), { force: true })
    for (let i = LOG_FILES_KEPT - 1; i >= 0; i--) {
      if (existsSync(this.#path(i))) renameSync(this.#path(i), this.#path(i + 1))
    }
    this.#open()
  }
}

function parseLine(raw: string): LogLine[] {
  const a = raw.indexOf(' ')
  const b = raw.indexOf(' ', a + 1)
  if (a < 0 || b < 0) return []
  const stream = raw.slice(a + 1, b)
  if (stream !== 'stdout' && stream !== 'stderr') return []
  return [{ time: new Date(raw.slice(0, a)), stream, text: raw.slice(b + 1) }]
}

/** Splits a byte stream into lines; a line longer than `maxLine` bytes is cut. */
export class LineSplitter {
  #partial = ''
  readonly #decoder = new StringDecoder('utf8')
  readonly #emit: (text: string) => void
  readonly #maxLine: number

  constructor(emit: (text: string) => void, maxLine = 64 * 1024) {
    this.#emit = emit
    this.#maxLine = maxLine
  }

  push(chunk: Buffer): void {
    const parts = (this.#partial + this.#decoder.write(chunk)).split('\n')
    this.#partial = parts.pop()!
    for (const p of parts) this.#emit(p)
    if (this.#partial.length > this.#maxLine) this.flush()
  }

  flush(): void {
    this.#partial += this.#decoder.end()
    if (this.#partial !== '') this.#emit(this.#partial)
    this.#partial = ''
  }
}
