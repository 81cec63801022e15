import { type ChildProcess, spawn } from 'node:child_process'
import { constants } from 'node:os'
import { StartFailedError } from './errors.js'
import type { RunInfo } from './health.js'
import { LineSplitter, type LogFile } from './log-file.js'
import type { HealthState, RestartPolicy, ServiceSpec, ServiceState, ServiceStatus } from './runtime.js'
import { restartPolicyOf } from './spec.js'
import { sleep } from './wait.js'

export interface Backoff {
  readonly initialMs: number
  readonly maxMs: number
  /** A run at least this long resets the crash count. */
  readonly resetAfterMs: number
}

/** Delay before the restart that follows the n-th consecutive crash (n ≥ 1). */
export function backoffDelay(consecutiveCrashes: number, backoff: Backoff): number {
  const exponent = Math.min(Math.max(consecutiveCrashes - 1, 0), 30)
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** exponent)
}

/** Whether the policy restarts after this exit, given the restarts already made in a row. */
export function shouldRestart(policy: RestartPolicy, exitCode: number, consecutiveRestarts: number): boolean {
  if (policy.policy === 'no') return false
  if (policy.policy === 'on-failure' && exitCode === 0) return false
  return !policy.maxRetries || consecutiveRestarts < policy.maxRetries
}

/**
 * One service as a child process in its own process group: SIGTERM/SIGKILL reach everything it
 * started. It restarts after crashes per the restart policy, with exponential backoff.
 */
export class ProcessService {
  readonly spec: ServiceSpec
  readonly hash: string
  readonly #env: Record<string, string>
  readonly #log: LogFile
  readonly #backoff: Backoff
  #child: ChildProcess | null = null
  #exited: Promise<void> = Promise.resolve()
  #state: ServiceState = 'created'
  #exitCode: number | null = null
  #startedAt: Date | null = null
  #restartCount = 0
  #crashes = 0
  #wanted = false
  #timer: NodeJS.Timeout | null = null

  constructor(spec: ServiceSpec, hash: string, env: Record<string, string>, log: LogFile, backoff: Backoff) {
    this.spec = spec
    this.hash = hash
    this.#env = env
    this.#log = log
    this.#backoff = backoff
  }

  status(health: HealthState): ServiceStatus {
    return {
      name: this.spec.name,
      state: this.#state,
      health,
      exitCode: this.#state === 'running' ? null : this.#exitCode,
      startedAt: this.#startedAt,
      restartCount: this.#restartCount,
      specHash: this.hash
    }
  }

  runInfo(): RunInfo {
    return { running: this.#state === 'running', startedAt: this.#startedAt }
  }

  /** SIGKILLs the process group at once, synchronously (for the node's exit handler). */
  kill(): void {
    if (this.#child !== null) killGroup(this.#child, 'SIGKILL')
  }

  /** Sends `signal` to the process group, when running. */
  signal(signal: NodeJS.Signals): void {
    if (this.#child !== null && this.#state === 'running') killGroup(this.#child, signal)
  }

  async start(): Promise<void> {
    if (this.#child !== null) return
    this.#clearTimer()
    this.#wanted = true
    this.#crashes = 0
    await this.#spawn(false)
  }

  async stop(timeoutMs: number): Promise<void> {
    this.#wanted = false
    this.#clearTimer()
    if (this.#state === 'restarting') this.#state = 'exited'
    const child = this.#child
    if (child === null) return
    const exited = this.#exited
    killGroup(child, 'SIGTERM')
    const timeout = new AbortController()
    const gone = await Promise.race([exited.then(() => true), sleep(timeoutMs, timeout.signal).then(() => false)])
    timeout.abort()
    if (!gone) killGroup(child, 'SIGKILL')
    await exited
  }

  #spawn(byPolicy: boolean): Promise<void> {
    const { command, args = [], workingDir, name } = this.spec
    const child = spawn(command!, args, { cwd: workingDir, env: this.#env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const out = new LineSplitter((text) => this.#log.write('stdout', text))
    const err = new LineSplitter((text) => this.#log.write('stderr', text))
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk)).on('end', () => out.flush())
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk)).on('end', () => err.flush())
    let markExited!: () => void
    this.#exited = new Promise((resolve) => {
      markExited = resolve
    })
    // Set at once, so that a stop() racing the start still finds the child to signal.
    this.#child = child
    return new Promise((resolve, reject) => {
      child.once('spawn', () => {
        this.#state = 'running'
        this.#startedAt = new Date()
        resolve()
      })
      child.once('error', (error) => {
        if (child.pid !== undefined) return // spawned: the exit event follows
        this.#child = null
        this.#log.write('stderr', `pryv-node: cannot start ${command}: ${error.message}`)
        if (!byPolicy) this.#wanted = false
        this.#onExit(127, 0)
        markExited()
        reject(new StartFailedError(name, error.message, { cause: error }))
      })
      child.once('exit', (code, signal) => {
        killGroup(child, 'SIGKILL') // whatever the service left behind in its group
        this.#child = null
        const ranMs = this.#startedAt === null ? 0 : Date.now() - this.#startedAt.getTime()
        this.#onExit(code ?? 128 + (signal ? constants.signals[signal] : 0), ranMs)
        markExited()
      })
    })
  }

  #onExit(exitCode: number, ranMs: number): void {
    this.#exitCode = exitCode
    if (ranMs >= this.#backoff.resetAfterMs) this.#crashes = 0
    if (!this.#wanted || !shouldRestart(restartPolicyOf(this.spec), exitCode, this.#crashes)) {
      this.#wanted = false
      this.#state = 'exited'
      return
    }
    this.#crashes++
    this.#restartCount++
    this.#state = 'restarting'
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#spawn(true).catch(() => {}) // a failed spawn is logged and handled as a crash
    }, backoffDelay(this.#crashes, this.#backoff))
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // ESRCH: the group is already gone.
  }
}
