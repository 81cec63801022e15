import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { cleanupTempDirs, tempDir } from '../support/cli.js'

const REPO = resolve(import.meta.dirname, '../..')
const BUILD_STEP = 'npm run build --silent && '

/**
 * `npm start` as the project defines it, minus its build step (the tests run on the built tree): a
 * package in a scratch directory with the same start script, using the checkout's bin and node_modules.
 */
function scratchPackage(): string {
  const start = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start
  expect(start.startsWith(BUILD_STEP)).toBe(true)
  const dir = tempDir('pn-npm-')
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npm-start-check', private: true, scripts: { start: start.slice(BUILD_STEP.length) } }))
  symlinkSync(join(REPO, 'bin'), join(dir, 'bin'))
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'))
  mkdirSync(join(dir, 'data'))
  return dir
}

interface NpmRun { npm: ChildProcess, dataDir: string, stderr: () => string, exited: Promise<number | string> }

async function npmStart(): Promise<NpmRun> {
  const dir = scratchPackage()
  const dataDir = join(dir, 'data')
  // Its own process group, as a terminal's foreground job is: Ctrl-C signals the whole group.
  const npm = spawn('npm', ['start', '--silent', '--', '--listen', '127.0.61.10:0', '--dns', 'none', '--services', 'none', '--json'], {
    cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PRYV_NODE_DATA_DIR: dataDir, PRYV_LOG_LEVEL: 'warn' }
  })
  let stderr = ''
  npm.stderr!.on('data', (d) => { stderr += d })
  const exited = new Promise<number | string>((res) => npm.on('exit', (code, signal) => res(code ?? signal!)))
  await new Promise<void>((ready, fail) => {
    createInterface({ input: npm.stdout! }).on('line', (line) => { if (line.includes('"event":"ready"')) ready() })
    void exited.then((code) => fail(new Error(`npm start exited (${code}) before the node was ready: ${stderr}`)))
  })
  return { npm, dataDir, stderr: () => stderr, exited }
}

const runs = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function gone(pid: number): Promise<boolean> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    if (!runs(pid)) return true
    await new Promise((res) => setTimeout(res, 100))
  }
  return false
}

describe('npm start', () => {
  const started: NpmRun[] = []
  afterEach(() => {
    for (const r of started.splice(0)) {
      try {
        process.kill(-r.npm.pid!, 'SIGKILL')
      } catch {}
    }
  })
  afterAll(cleanupTempDirs)

  it('SIGTERM to npm (a supervisor, a script) stops the node cleanly', async () => {
    const run = await npmStart()
    started.push(run)
    const nodePid = Number(readFileSync(join(run.dataDir, 'node.lock'), 'utf8'))
    process.kill(run.npm.pid!, 'SIGTERM')
    await run.exited
    expect(await gone(nodePid), 'the node still runs after npm was stopped').toBe(true)
    expect(existsSync(join(run.dataDir, 'node.lock')), 'the node did not stop cleanly (lock left)').toBe(false)
    expect(run.stderr()).not.toContain('without a clean shutdown')
  })

  it('Ctrl-C (SIGINT to the process group) gives one clean stop, exit 0', async () => {
    const run = await npmStart()
    started.push(run)
    const nodePid = Number(readFileSync(join(run.dataDir, 'node.lock'), 'utf8'))
    process.kill(-run.npm.pid!, 'SIGINT')
    expect(await run.exited).toBe(0)
    expect(await gone(nodePid)).toBe(true)
    expect(existsSync(join(run.dataDir, 'node.lock'))).toBe(false)
    expect(run.stderr()).not.toContain('without a clean shutdown')
  })
})
