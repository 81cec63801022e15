import { spawn } from 'node:child_process'
import { DEFAULT_BACKOFF, DEFAULT_LOG_MAX_BYTES, DEFAULT_STOP_TIMEOUT_MS, ENV_CONFIG_DIR, ENV_DATA_DIR } from './constants.js'
import { InvalidSpecError, ServiceNotFoundError, UnsupportedError } from './errors.js'
import { type CommandRunner, HealthMonitor, pollHealthy } from './health.js'
import { LogFile } from './log-file.js'
import { type Backoff, ProcessService } from './process-service.js'
import type {
  EnsureResult,
  LogLine,
  LogOptions,
  Runtime,
  RuntimeCapabilities,
  ServiceSpec,
  ServiceStatus,
  StopOptions
} from './runtime.js'
import { serviceDirs, specHash, validateSpec } from './spec.js'
import { anySignal } from './wait.js'

export interface ProcessRuntimeInit {
  /** The node's data directory; logs go to `<dataDir>/services/<name>/log/output.log`. */
  readonly dataDir: string
  /** Environment every service starts from (the composition passes the node's own); spec env wins. */
  readonly baseEnv?: Readonly<Record<string, string>>
  readonly backoff?: Partial<Backoff>
  /** Size at which a service's output.log is rotated. */
  readonly logMaxBytes?: number
}

interface Entry {
  service: ProcessService
  monitor: HealthMonitor | null
  readonly log: LogFile
  /** Aborted when the service is removed: ends its log followers. */
  readonly removed: AbortController
}

/** Services as child processes of the node: the default without a container engine, and for development. */
export function processRuntime(init: ProcessRuntimeInit): Runtime {
  return new ProcessRuntime(init)
}

class ProcessRuntime implements Runtime {
  readonly kind = 'process'
  readonly capabilities: RuntimeCapabilities = { pull: false, isolation: false, portMapping: false, adoptsAfterRestart: false }
  readonly #init: ProcessRuntimeInit
  readonly #backoff: Backoff
  readonly #entries = new Map<string, Entry>()
  // Children live in their own process groups, so they would outlive a node that dies without close().
  readonly #killAll = (): void => {
    for (const { service } of this.#entries.values()) service.kill()
  }

  constructor(init: ProcessRuntimeInit) {
    this.#init = init
    this.#backoff = { ...DEFAULT_BACKOFF, ...init.backoff }
    process.on('exit', this.#killAll)
  }

  async ensure(spec: ServiceSpec): Promise<EnsureResult> {
    validateSpec(spec)
    if (spec.command === undefined) throw new InvalidSpecError(spec.name, 'the process runtime needs a command (it cannot run images)')
    const hash = specHash(spec)
    const entry = this.#entries.get(spec.name)
    if (entry?.service.hash === hash) return { action: 'unchanged', status: this.#status(entry) }
    const log = entry?.log ?? this.#newLog(spec.name)
    const service = new ProcessService(spec, hash, this.#env(spec), log, this.#backoff)
    if (entry !== undefined) {
      await this.#retire(entry, entry.service.spec.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)
      entry.service = service
      entry.monitor = this.#monitor(service)
      return { action: 'recreated', status: this.#status(entry) }
    }
    const created: Entry = { service, monitor: this.#monitor(service), log, removed: new AbortController() }
    this.#entries.set(spec.name, created)
    return { action: 'created', status: this.#status(created) }
  }

  async start(name: string): Promise<void> {
    await this.#get(name).service.start()
  }

  async stop(name: string, options?: StopOptions): Promise<void> {
    const { service } = this.#get(name)
    await service.stop(options?.timeoutMs ?? service.spec.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)
  }

  async restart(name: string, options?: StopOptions): Promise<void> {
    await this.stop(name, options)
    await this.start(name)
  }

  async signal(name: string, signal: NodeJS.Signals): Promise<void> {
    this.#get(name).service.signal(signal)
  }

  async remove(name: string, options?: StopOptions): Promise<void> {
    const entry = this.#entries.get(name)
    if (entry === undefined) return
    this.#entries.delete(name)
    await this.#retire(entry, options?.timeoutMs ?? entry.service.spec.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)
    entry.removed.abort()
    entry.log.remove()
  }

  async status(name: string): Promise<ServiceStatus> {
    return this.#status(this.#get(name))
  }

  async list(): Promise<ServiceStatus[]> {
    return [...this.#entries.values()].map((e) => this.#status(e))
  }

  async *logs(name: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const entry = this.#get(name)
    const pending: LogLine[] = []
    let wake: (() => void) | null = null
    const stop = anySignal(options.signal, entry.removed.signal)!
    const onStop = (): void => wake?.()
    stop.addEventListener('abort', onStop)
    // Subscribed before the file is read, in the same tick: no line is missed or seen twice.
    const unsubscribe = options.follow
      ? entry.log.subscribe((line) => {
          pending.push(line)
          wake?.()
        })
      : () => {}
    try {
      yield* entry.log.read(options.tail, options.since)
      while (options.follow && !stop.aborted) {
        const line = pending.shift()
        if (line !== undefined) {
          yield line
          continue
        }
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        wake = null
      }
    } finally {
      stop.removeEventListener('abort', onStop)
      unsubscribe()
    }
  }

  async pull(): Promise<void> {
    throw new UnsupportedError('process', 'pull images')
  }

  async hasImage(): Promise<boolean> {
    return true
  }

  waitHealthy(name: string, signal: AbortSignal): Promise<ServiceStatus> {
    return pollHealthy(name, () => this.status(name), signal)
  }

  async close(options?: StopOptions): Promise<void> {
    await Promise.all(
      [...this.#entries.values()].map((e) => this.#retire(e, options?.timeoutMs ?? e.service.spec.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS))
    )
    for (const e of this.#entries.values()) {
      e.removed.abort()
      e.log.close()
    }
    this.#entries.clear()
    process.off('exit', this.#killAll)
  }

  async #retire(entry: Entry, timeoutMs: number): Promise<void> {
    await entry.monitor?.stop()
    await entry.service.stop(timeoutMs)
  }

  #status(entry: Entry): ServiceStatus {
    const monitor = entry.monitor
    if (!monitor) return entry.service.status('none')
    return entry.service.status(monitor.healthOf(entry.service.runInfo().startedAt))
  }

  #get(name: string): Entry {
    const entry = this.#entries.get(name)
    if (entry === undefined) throw new ServiceNotFoundError(name)
    return entry
  }

  #monitor(service: ProcessService): HealthMonitor | null {
    const { health } = service.spec
    if (health === undefined) return null
    return new HealthMonitor(health, async () => service.runInfo(), this.#commandRunner(service.spec))
  }

  #commandRunner(spec: ServiceSpec): CommandRunner {
    const env = this.#env(spec)
    return (probe, signal) =>
      new Promise((resolve) => {
        const child = spawn(probe.command, probe.args ?? [], { cwd: spec.workingDir, env, signal, stdio: 'ignore' })
        child.once('error', () => resolve(false))
        child.once('exit', (code) => resolve(code === 0))
      })
  }

  #env(spec: ServiceSpec): Record<string, string> {
    const env: Record<string, string> = { ...this.#init.baseEnv, ...spec.env }
    if (spec.configDir !== undefined) env[ENV_CONFIG_DIR] = spec.configDir
    if (spec.dataDir !== undefined) env[ENV_DATA_DIR] = spec.dataDir
    return env
  }

  #newLog(name: string): LogFile {
    return new LogFile(serviceDirs(this.#init.dataDir, name).log, this.#init.logMaxBytes ?? DEFAULT_LOG_MAX_BYTES)
  }
}
