/**
 * The service runtime contract: how the node runs Pryv services, whatever runs them.
 * Two backends implement it: docker.ts (a Docker-API engine through dockerode) and process.ts
 * (child processes, the embedded default). test/runtime/contract.ts checks both the same way.
 */

/** How the node checks a running service. Ports are the ones the node reaches (host side). */
export type HealthProbe =
  | { readonly kind: 'command'; readonly command: string; readonly args?: readonly string[] }
  | { readonly kind: 'http'; readonly port: number; readonly path?: string; readonly host?: string }
  | { readonly kind: 'tcp'; readonly port: number; readonly host?: string }

export interface HealthCheck {
  readonly probe: HealthProbe
  /** Time between probes; the first probe runs as soon as the service runs. */
  readonly intervalMs?: number
  /** A probe that takes longer fails. */
  readonly timeoutMs?: number
  /** Consecutive failures, after the start period, that make the service unhealthy. */
  readonly retries?: number
  /** Failures during this time after each start do not count. */
  readonly startPeriodMs?: number
}

/**
 * `unless-stopped` restarts after any exit that the node did not ask for; `on-failure` only after a
 * non-zero exit. `maxRetries` bounds consecutive restarts (0 or absent: no bound).
 */
export interface RestartPolicy {
  readonly policy: 'no' | 'on-failure' | 'unless-stopped'
  readonly maxRetries?: number
}

export interface PortMapping {
  /** Port inside the container (process backend: the port the service listens on). */
  readonly container: number
  /** Host port; defaults to `container`. */
  readonly host?: number
  readonly protocol?: 'tcp' | 'udp'
  /** Host address to publish on; defaults to 127.0.0.1. */
  readonly hostIp?: string
}

export interface VolumeMount {
  /** Absolute host path. */
  readonly source: string
  /** Path inside the container. */
  readonly target: string
  readonly readOnly?: boolean
}

/**
 * What to run. The Docker backend needs `image` (`command`/`args` override its entrypoint and
 * command); the process backend needs `command` and ignores `image`.
 * Every field except `desiredState` is part of the spec hash: changing one recreates the service.
 */
export interface ServiceSpec {
  /** Service name: letters, digits, `_`, `.` and `-`, starting with a letter or digit. */
  readonly name: string
  readonly image?: string
  readonly command?: string
  readonly args?: readonly string[]
  readonly env?: Readonly<Record<string, string>>
  readonly workingDir?: string
  /**
   * Host directory with the service's configuration, usually `<data-dir>/services/<name>/conf`.
   * Docker mounts the directory (never single files, so atomic renames are seen at once) read-only at
   * `configMountPath`; both backends pass the path the service sees in `PRYV_CONFIG_DIR`.
   */
  readonly configDir?: string
  readonly configMountPath?: string
  /** Host directory for the service's data, mounted read-write at `dataMountPath`; `PRYV_DATA_DIR`. */
  readonly dataDir?: string
  readonly dataMountPath?: string
  readonly ports?: readonly PortMapping[]
  /** Docker: more host directories (absolute) mounted into the container. Ignored by the process backend. */
  readonly volumes?: readonly VolumeMount[]
  /** Docker network: `host` (default), `none` or a network name. Ignored by the process backend. */
  readonly network?: string
  readonly health?: HealthCheck
  /** Defaults to `{ policy: 'unless-stopped' }`. */
  readonly restart?: RestartPolicy
  /** Time a stop waits after SIGTERM before SIGKILL; defaults to 10 s. */
  readonly stopTimeoutMs?: number
  /** What reconcile aims for; defaults to `running`. */
  readonly desiredState?: 'running' | 'stopped'
}

export type ServiceState = 'created' | 'running' | 'restarting' | 'exited'
export type HealthState = 'none' | 'starting' | 'healthy' | 'unhealthy'

export interface ServiceStatus {
  readonly name: string
  readonly state: ServiceState
  /** `none` when the spec has no health check or this runtime instance has not been given the spec. */
  readonly health: HealthState
  /** Exit code of the last run (signal N: 128 + N); null while running or before the first run ends. */
  readonly exitCode: number | null
  readonly startedAt: Date | null
  /** Restarts made by the restart policy (not those asked for with `restart`). */
  readonly restartCount: number
  readonly specHash: string
}

export interface RuntimeCapabilities {
  /** `pull` works (otherwise it throws UnsupportedError). */
  readonly pull: boolean
  /** Services run isolated from the host (own file system, namespaces). */
  readonly isolation: boolean
  /** Ports can be remapped; otherwise services listen on their own ports on the host. */
  readonly portMapping: boolean
  /** A new runtime instance (after a node restart) adopts the services that are still running. */
  readonly adoptsAfterRestart: boolean
}

export interface OperationOptions {
  readonly signal?: AbortSignal
}

export interface StopOptions extends OperationOptions {
  /** Overrides the spec's `stopTimeoutMs`. */
  readonly timeoutMs?: number
}

export interface LogOptions extends OperationOptions {
  /** Only the last `tail` lines of the past output. */
  readonly tail?: number
  /** Only lines written at or after this time (Docker: whole seconds). */
  readonly since?: Date
  /** Keep yielding new lines, across restarts, until the signal aborts or the service is removed. */
  readonly follow?: boolean
}

export interface LogLine {
  readonly stream: 'stdout' | 'stderr'
  readonly text: string
  readonly time: Date
}

/** One event of an image pull; `current`/`total` are bytes of one layer when known. */
export interface PullProgress {
  readonly image: string
  readonly status: string
  readonly layer?: string
  readonly current?: number
  readonly total?: number
}

export interface PullOptions extends OperationOptions {
  readonly onProgress?: (event: PullProgress) => void
}

export interface EnsureResult {
  /** `unchanged`: an existing service with the same spec hash was adopted as it is. */
  readonly action: 'created' | 'recreated' | 'unchanged'
  readonly status: ServiceStatus
}

/**
 * Operations take a service name and act only on services this node manages (same platform and
 * node id); they throw ServiceNotFoundError for others. Errors are RuntimeError subclasses.
 */
export interface Runtime {
  readonly kind: 'docker' | 'process'
  readonly capabilities: RuntimeCapabilities
  /** Creates the service, adopts an identical one, or recreates one whose spec hash differs (stopped). */
  ensure(spec: ServiceSpec, options?: OperationOptions): Promise<EnsureResult>
  /** Starts the service; no-op when running. */
  start(name: string, options?: OperationOptions): Promise<void>
  /** SIGTERM, then SIGKILL after the timeout; no-op when not running. */
  stop(name: string, options?: StopOptions): Promise<void>
  restart(name: string, options?: StopOptions): Promise<void>
  /** Sends a signal (SIGHUP: reload your configuration) to a running service; no-op when not running. */
  signal(name: string, signal: NodeJS.Signals, options?: OperationOptions): Promise<void>
  /** Stops and removes the service; no-op when it does not exist. */
  remove(name: string, options?: StopOptions): Promise<void>
  status(name: string, options?: OperationOptions): Promise<ServiceStatus>
  /** Every service this node manages, including ones this instance was never given a spec for. */
  list(options?: OperationOptions): Promise<ServiceStatus[]>
  logs(name: string, options?: LogOptions): AsyncIterable<LogLine>
  pull(image: string, options?: PullOptions): Promise<void>
  /** Whether the image is on this machine (runtimes that cannot pull say true: they need none). */
  hasImage(image: string, options?: OperationOptions): Promise<boolean>
  /** Resolves once healthy (or running, without a health check); throws UnhealthyError otherwise. */
  waitHealthy(name: string, signal: AbortSignal): Promise<ServiceStatus>
  /** Releases the runtime on node shutdown: the process backend stops every service it runs. */
  close(options?: StopOptions): Promise<void>
}
