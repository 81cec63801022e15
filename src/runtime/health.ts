import { connect } from 'node:net'
import { DEFAULT_HEALTH, HEALTH_POLL_MS } from './constants.js'
import { UnhealthyError } from './errors.js'
import type { HealthCheck, HealthProbe, HealthState, ServiceStatus } from './runtime.js'
import { anySignal, sleep } from './wait.js'

/** The current run of a service as the monitor needs it; `startedAt` identifies the run. */
export interface RunInfo {
  readonly running: boolean
  readonly startedAt: Date | null
}

/** Runs a `command` probe where the service runs (host or container); true when it exits 0. */
export type CommandRunner = (probe: Extract<HealthProbe, { kind: 'command' }>, signal: AbortSignal) => Promise<boolean>

/**
 * Probes one service while it runs, with the semantics of Docker's HEALTHCHECK: `starting` after each
 * start, `healthy` after one success, `unhealthy` after `retries` consecutive failures past the start
 * period. Probing from the node (not inside the container) keeps HTTP/TCP checks image-independent.
 */
export class HealthMonitor {
  #health: HealthState = 'starting'
  #failures = 0
  #run: number | null = null
  readonly #stopper = new AbortController()
  readonly #done: Promise<void>

  constructor(
    check: HealthCheck,
    currentRun: (signal: AbortSignal) => Promise<RunInfo>,
    runCommand: CommandRunner,
    now: () => number = Date.now
  ) {
    this.#done = this.#loop(check, currentRun, runCommand, now)
  }

  get health(): HealthState {
    return this.#health
  }

  /**
   * The health of the run that started at `startedAt`: `starting` until the monitor has probed that
   * run, so that a restart is never reported healthy on the strength of the run before it.
   */
  healthOf(startedAt: Date | null): HealthState {
    const run = startedAt?.getTime() ?? null
    return run !== null && run !== this.#run ? 'starting' : this.#health
  }

  async stop(): Promise<void> {
    this.#stopper.abort()
    await this.#done
  }

  async #loop(check: HealthCheck, currentRun: (signal: AbortSignal) => Promise<RunInfo>, runCommand: CommandRunner, now: () => number): Promise<void> {
    const intervalMs = check.intervalMs ?? DEFAULT_HEALTH.intervalMs
    const timeoutMs = check.timeoutMs ?? DEFAULT_HEALTH.timeoutMs
    const retries = check.retries ?? DEFAULT_HEALTH.retries
    const startPeriodMs = check.startPeriodMs ?? DEFAULT_HEALTH.startPeriodMs
    const stop = this.#stopper.signal
    while (!stop.aborted) {
      try {
        const run = await currentRun(stop)
        const runId = run.running ? (run.startedAt?.getTime() ?? 0) : null
        if (runId !== this.#run) {
          this.#run = runId
          this.#health = 'starting'
          this.#failures = 0
        }
        if (runId !== null) {
          const signal = anySignal(stop, AbortSignal.timeout(timeoutMs))!
          const ok = await runProbe(check.probe, signal, runCommand)
          if (stop.aborted) return
          if (ok) {
            this.#health = 'healthy'
            this.#failures = 0
          } else if (now() - runId >= startPeriodMs || this.#health === 'healthy') {
            this.#failures++
            if (this.#failures >= retries) this.#health = 'unhealthy'
          }
        }
      } catch {
        // The service vanished or the engine hiccuped: the next round sees what remains.
      }
      await sleep(intervalMs, stop)
    }
  }
}

export async function runProbe(probe: HealthProbe, signal: AbortSignal, runCommand: CommandRunner): Promise<boolean> {
  try {
    switch (probe.kind) {
      case 'http': {
        const url = `http://${probe.host ?? '127.0.0.1'}:${probe.port}${probe.path ?? '/'}`
        const res = await fetch(url, { signal, redirect: 'manual' })
        await res.body?.cancel()
        return res.status >= 200 && res.status < 400
      }
      case 'tcp':
        return await tcpProbe(probe.host ?? '127.0.0.1', probe.port, signal)
      case 'command':
        return await runCommand(probe, signal)
    }
  } catch {
    return false
  }
}

function tcpProbe(host: string, port: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, signal })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * Polls `status` until the service is healthy (or running, without a health check). Throws
 * UnhealthyError when it turns unhealthy, exits, or the signal aborts first.
 */
export async function pollHealthy(name: string, status: () => Promise<ServiceStatus>, signal: AbortSignal): Promise<ServiceStatus> {
  for (;;) {
    const s = await status()
    if (s.health === 'healthy' || (s.health === 'none' && s.state === 'running')) return s
    if (s.health === 'unhealthy') throw new UnhealthyError(name, 'is unhealthy: its health check keeps failing')
    if (s.state === 'exited') throw new UnhealthyError(name, `exited with code ${s.exitCode} before it became healthy`)
    if (signal.aborted) {
      throw new UnhealthyError(name, `did not become healthy in time (state ${s.state}, health ${s.health})`, { cause: signal.reason })
    }
    await sleep(HEALTH_POLL_MS, signal)
  }
}
