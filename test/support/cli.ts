import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'

export const BIN = resolve(import.meta.dirname, '../../bin/pryv-node.js')

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI to completion in its own process. */
export function runCli(args: string[], opts: { env?: Record<string, string>, timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn', ...opts.env }, timeout: opts.timeoutMs ?? 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0
      done({ code, stdout, stderr })
    })
  })
}

const dirs: string[] = []

/** A fresh temporary directory, removed by `cleanupTempDirs`. Short paths: Unix sockets live inside. */
export function tempDir(prefix = 'pn-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.push(dir)
  return dir
}

export function cleanupTempDirs(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
}

/** A node process running in the foreground, as an operator or systemd would run it. */
export class NodeProcess {
  readonly events: Array<Record<string, unknown>> = []
  stderr = ''
  private readonly exited: Promise<number>
  private readonly waiting = new Set<() => void>()

  private constructor(readonly proc: ChildProcess, readonly dataDir: string) {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line))
      } catch {
        this.events.push({ text: line })
      }
      for (const w of this.waiting) w()
    })
    proc.stderr!.on('data', (d) => { this.stderr += d })
    this.exited = new Promise((res) => proc.on('exit', (code, signal) => {
      res(code ?? (signal === 'SIGKILL' ? 137 : 1))
      for (const w of this.waiting) w()
    }))
  }

  static start(dataDir: string, args: string[], env: Record<string, string> = {}): NodeProcess {
    const proc = spawn(process.execPath, [BIN, '--data-dir', dataDir, ...args, '--json'], {
      env: { ...process.env, PRYV_LOG_LEVEL: process.env.PRYV_TEST_LOG_LEVEL ?? 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    return new NodeProcess(proc, dataDir)
  }

  /** A node process started some other way (e.g. inside a lab host), with piped stdout and stderr. */
  static adopt(proc: ChildProcess, dataDir: string): NodeProcess {
    return new NodeProcess(proc, dataDir)
  }

  /** Resolves with the ready event, or rejects with the node's error output if it exits first. */
  async ready(timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const ready = this.events.find((e) => e.event === 'ready')
      if (ready) return ready
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`node exited (${this.proc.exitCode ?? this.proc.signalCode}) before ready:\n${JSON.stringify(this.events)}\n${this.stderr}`)
      }
      if (Date.now() > deadline) throw new Error(`node not ready after ${timeoutMs} ms:\n${this.stderr}`)
      await new Promise<void>((res) => {
        const w = (): void => { this.waiting.delete(w); res() }
        this.waiting.add(w)
        setTimeout(w, 200)
      })
    }
  }

  /** Graceful stop (SIGTERM); returns the exit code. */
  async stop(): Promise<number> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM')
    return this.exited
  }

  async kill(): Promise<number> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL')
    return this.exited
  }

  exitCode(): Promise<number> {
    return this.exited
  }
}
