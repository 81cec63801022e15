import Dockerode from 'dockerode'
import { DEFAULT_DOCKER_SOCKET, FOLLOW_POLL_MS, LABEL_SERVICE, LABEL_SPEC_HASH } from './constants.js'
import { engineMessage, statusCodeOf, toRuntimeError } from './docker-errors.js'
import { containerHealthMonitor } from './docker-health.js'
import { logLines } from './docker-logs.js'
import { pullImage } from './docker-pull.js'
import { containerName, type Owner, ownerFilters, toCreateOptions } from './docker-spec.js'
import { ImageMissingError, NameConflictError, ServiceNotFoundError, StartFailedError } from './errors.js'
import { type HealthMonitor, pollHealthy } from './health.js'
import type {
  EnsureResult,
  HealthState,
  LogLine,
  LogOptions,
  OperationOptions,
  PullOptions,
  Runtime,
  RuntimeCapabilities,
  ServiceSpec,
  ServiceState,
  ServiceStatus,
  StopOptions
} from './runtime.js'
import { specHash, validateId, validateSpec } from './spec.js'
import { sleep } from './wait.js'

export interface DockerRuntimeInit extends Owner {
  /** Engine API socket; defaults to /var/run/docker.sock. */
  readonly socketPath?: string
}

/** Services as containers of a Docker-API engine (dockerd, or podman's compatible service). */
export function dockerRuntime(init: DockerRuntimeInit): Runtime {
  return new DockerRuntime(init)
}

interface Watched {
  readonly hash: string
  readonly monitor: HealthMonitor
}

const NEVER_STARTED = '0001-01-01T00:00:00Z'

class DockerRuntime implements Runtime {
  readonly kind = 'docker'
  readonly capabilities: RuntimeCapabilities = { pull: true, isolation: true, portMapping: true, adoptsAfterRestart: true }
  readonly #owner: Owner
  readonly #socketPath: string
  readonly #docker: Dockerode
  readonly #watched = new Map<string, Watched>()

  constructor(init: DockerRuntimeInit) {
    validateId('platform', init.platformId)
    validateId('node', init.nodeId)
    this.#owner = { platformId: init.platformId, nodeId: init.nodeId, labels: init.labels }
    this.#socketPath = init.socketPath ?? DEFAULT_DOCKER_SOCKET
    this.#docker = new Dockerode({ socketPath: this.#socketPath })
  }

  async ensure(spec: ServiceSpec, options?: OperationOptions): Promise<EnsureResult> {
    validateSpec(spec)
    const hash = specHash(spec)
    const create = toCreateOptions(spec, this.#owner, hash)
    const found = await this.#find(spec.name, options?.signal)
    let action: EnsureResult['action'] = 'unchanged'
    if (found?.Labels[LABEL_SPEC_HASH] !== hash) {
      if (found !== undefined) await this.#removeContainer(found.Id, undefined, options?.signal)
      action = found === undefined ? 'created' : 'recreated'
      await this.#call('create a container', async () => {
        try {
          await this.#docker.createContainer({ ...create, abortSignal: options?.signal } as Dockerode.ContainerCreateOptions)
        } catch (error) {
          if (statusCodeOf(error) === 404) throw new ImageMissingError(spec.image!, { cause: error })
          // dockerd answers 409, podman 500: a container holding the name that is not ours is the conflict.
          if (statusCodeOf(error) === 409 || (await this.#nameTaken(create.name!))) throw new NameConflictError(create.name!, { cause: error })
          throw error
        }
      })
    }
    await this.#watch(spec, hash)
    return { action, status: await this.status(spec.name, options) }
  }

  async start(name: string, options?: OperationOptions): Promise<void> {
    const container = await this.#container(name, options?.signal)
    await this.#call(`start ${name}`, async () => {
      try {
        await container.start({ abortSignal: options?.signal })
      } catch (error) {
        if (statusCodeOf(error) === 304) return
        if (statusCodeOf(error) === 500 || statusCodeOf(error) === 400) {
          throw new StartFailedError(name, engineMessage(error), { cause: error })
        }
        throw error
      }
    })
  }

  async stop(name: string, options?: StopOptions): Promise<void> {
    const container = await this.#container(name, options?.signal)
    await this.#call(`stop ${name}`, () => ignore304(container.stop(stopOptions(options?.timeoutMs, options?.signal))))
  }

  async restart(name: string, options?: StopOptions): Promise<void> {
    const container = await this.#container(name, options?.signal)
    await this.#call(`restart ${name}`, () => container.restart(stopOptions(options?.timeoutMs, options?.signal)))
  }

  async signal(name: string, signal: NodeJS.Signals, options?: OperationOptions): Promise<void> {
    const container = await this.#container(name, options?.signal)
    const info = await this.#call(`inspect ${name}`, () => container.inspect({ abortSignal: options?.signal }))
    if (!info.State.Running) return
    await this.#call(`signal ${name}`, () => container.kill({ signal, abortSignal: options?.signal }))
  }

  async remove(name: string, options?: StopOptions): Promise<void> {
    const found = await this.#find(name, options?.signal)
    await this.#unwatch(name)
    if (found === undefined) return
    await this.#removeContainer(found.Id, options?.timeoutMs, options?.signal)
  }

  async status(name: string, options?: OperationOptions): Promise<ServiceStatus> {
    const container = await this.#container(name, options?.signal)
    const info = await this.#call(`inspect ${name}`, () => container.inspect({ abortSignal: options?.signal }))
    return this.#statusOf(info)
  }

  async list(options?: OperationOptions): Promise<ServiceStatus[]> {
    const found = await this.#call('list containers', () =>
      this.#docker.listContainers({ all: true, filters: ownerFilters(this.#owner), abortSignal: options?.signal })
    )
    const infos = await Promise.all(
      found.map((c) =>
        this.#call('inspect a container', async () => {
          try {
            return await this.#docker.getContainer(c.Id).inspect({ abortSignal: options?.signal })
          } catch (error) {
            if (statusCodeOf(error) === 404) return null // removed since it was listed
            throw error
          }
        })
      )
    )
    return infos.filter((info) => info !== null).map((info) => this.#statusOf(info))
  }

  async *logs(name: string, options: LogOptions = {}): AsyncIterable<LogLine> {
    const container = await this.#container(name, options.signal)
    const { signal, follow = false } = options
    let since = options.since === undefined ? undefined : Math.floor(options.since.getTime() / 1000)
    let tail = options.tail
    for (;;) {
      let attachedTo: string
      let source: unknown
      try {
        attachedTo = (await container.inspect({ abortSignal: signal })).State.StartedAt
        const query = definedOnly({ stdout: true, stderr: true, timestamps: true, follow, since, tail, abortSignal: signal })
        source = await container.logs(query as Dockerode.ContainerLogsOptions & { follow: true })
        yield* logLines(source as Buffer | AsyncIterable<Buffer>)
      } catch (error) {
        if (signal?.aborted || (follow && statusCodeOf(error) === 404)) return
        throw toRuntimeError(error, `read the logs of ${name}`, this.#socketPath)
      } finally {
        // A consumer that stops early must not leave the follow connection open.
        ;(source as { destroy?: () => void } | undefined)?.destroy?.()
      }
      if (!follow || signal?.aborted) return
      // The follow stream ends whenever the container stops, restarts included: wait for the next run.
      const startedAt = await this.#nextRun(container, attachedTo, signal)
      if (startedAt === null) return
      // Whole seconds only (podman): lines of the previous run in that same second may come again.
      since = Math.floor(Date.parse(startedAt) / 1000)
      tail = undefined
    }
  }

  async pull(image: string, options?: PullOptions): Promise<void> {
    await pullImage(this.#docker, image, options)
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.#docker.getImage(image).inspect()
      return true
    } catch (error) {
      if (statusCodeOf(error) === 404) return false
      throw toRuntimeError(error, `inspect image ${image}`, this.#socketPath)
    }
  }

  waitHealthy(name: string, signal: AbortSignal): Promise<ServiceStatus> {
    return pollHealthy(name, () => this.status(name), signal)
  }

  /** Containers keep running: the next node instance adopts them. */
  async close(): Promise<void> {
    await Promise.all([...this.#watched.keys()].map((name) => this.#unwatch(name)))
  }

  async #find(name: string, signal?: AbortSignal): Promise<Dockerode.ContainerInfo | undefined> {
    const found = await this.#call('list containers', () =>
      this.#docker.listContainers({ all: true, filters: ownerFilters(this.#owner, name), abortSignal: signal })
    )
    return found[0]
  }

  async #nameTaken(containerName: string): Promise<boolean> {
    try {
      await this.#docker.getContainer(containerName).inspect()
      return true
    } catch {
      return false
    }
  }

  async #container(name: string, signal?: AbortSignal): Promise<Dockerode.Container> {
    const found = await this.#find(name, signal)
    if (found === undefined) throw new ServiceNotFoundError(name)
    return this.#docker.getContainer(found.Id)
  }

  /** Stops gracefully first: a forced remove would SIGKILL at once. */
  async #removeContainer(id: string, timeoutMs: number | undefined, signal?: AbortSignal): Promise<void> {
    const container = this.#docker.getContainer(id)
    await this.#call('stop a container', () => ignore304(container.stop(stopOptions(timeoutMs, signal))))
    await this.#call('remove a container', async () => {
      try {
        await container.remove({ force: true, abortSignal: signal })
      } catch (error) {
        if (statusCodeOf(error) === 404) return
        // podman answers 500 to the first delete after its monitor process was killed; the second works.
        if (statusCodeOf(error) !== 500) throw error
        await container.remove({ force: true, abortSignal: signal })
      }
    })
  }

  async #nextRun(container: Dockerode.Container, previous: string, signal?: AbortSignal): Promise<string | null> {
    while (!signal?.aborted) {
      try {
        const { State } = await container.inspect({ abortSignal: signal })
        if (State.Running && State.StartedAt !== previous) return State.StartedAt
      } catch (error) {
        if (statusCodeOf(error) === 404 || signal?.aborted) return null
        throw toRuntimeError(error, 'follow logs', this.#socketPath)
      }
      await sleep(FOLLOW_POLL_MS, signal)
    }
    return null
  }

  #statusOf(info: Dockerode.ContainerInspectInfo): ServiceStatus {
    const name = info.Config.Labels[LABEL_SERVICE]!
    const hash = info.Config.Labels[LABEL_SPEC_HASH] ?? ''
    const state = stateOf(info.State.Status)
    const watched = this.#watched.get(name)
    const startedAt = info.State.StartedAt === NEVER_STARTED ? null : new Date(info.State.StartedAt)
    const health: HealthState = watched?.hash === hash ? watched.monitor.healthOf(state === 'running' ? startedAt : null) : 'none'
    return {
      name,
      state,
      health,
      exitCode: state === 'exited' || state === 'restarting' ? info.State.ExitCode : null,
      startedAt,
      restartCount: info.RestartCount,
      specHash: hash
    }
  }

  async #watch(spec: ServiceSpec, hash: string): Promise<void> {
    if (this.#watched.get(spec.name)?.hash === hash) return
    await this.#unwatch(spec.name)
    if (spec.health === undefined) return
    const monitor = containerHealthMonitor(this.#docker, containerName(this.#owner, spec.name), spec.health)
    this.#watched.set(spec.name, { hash, monitor })
  }

  async #unwatch(name: string): Promise<void> {
    const watched = this.#watched.get(name)
    this.#watched.delete(name)
    await watched?.monitor.stop()
  }

  async #call<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw toRuntimeError(error, operation, this.#socketPath)
    }
  }
}

/** Without a timeout the engine uses the container's own StopTimeout, set from the spec at creation. */
function stopOptions(timeoutMs: number | undefined, signal: AbortSignal | undefined): { t?: number; abortSignal?: AbortSignal } {
  return definedOnly({ t: timeoutMs === undefined ? undefined : Math.ceil(timeoutMs / 1000), abortSignal: signal })
}

/** dockerode sends `key=` for an undefined option, which podman rejects. */
function definedOnly<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as T
}

function stateOf(status: string): ServiceState {
  switch (status) {
    case 'created':
      return 'created'
    case 'running':
    case 'paused':
      return 'running'
    case 'restarting':
      return 'restarting'
    default:
      return 'exited'
  }
}

async function ignore304(operation: Promise<unknown>): Promise<void> {
  try {
    await operation
  } catch (error) {
    if (statusCodeOf(error) !== 304) throw error
  }
}
