import { join } from 'node:path'
import { TemplateRenderError } from '../config/errors.js'
import type { SettingsValues } from '../config/layers.js'
import type { HealthCheck, ServiceSpec } from '../runtime/runtime.js'
import { ENV_WATCH_FILE, ENV_WATCH_SOCKET, WATCH_FILE, WATCH_SOCKET } from '../runtime/constants.js'
import { compileRelease } from './compile.js'
import { renderEnv } from './env.js'
import { ReleaseBackendError } from './errors.js'
import type { ReleaseRecord, ReleaseService } from './types.js'

export interface ServiceSpecOptions {
  /** The node's effective settings (every schema key), for `${group.name}` in env values. */
  readonly values: SettingsValues
  readonly backend: 'docker' | 'process'
  /** A service's directory on this node, usually `<data-dir>/services/<name>` (absolute). */
  readonly serviceDir: (service: string) => string
  /** Where writeReleaseFiles wrote the release's files: `{release}` (absolute). */
  readonly releaseDir: string
  /** The node's own Node.js executable: `{node}`. */
  readonly nodeExecutable: string
}

const TOKENS = /\{(node|release)\}/g
/** `{node}` and `{release}` mark a command (or probe) as one for the process backend. */
export const PROCESS_ONLY = /\{(?:node|release)\}/

/**
 * What the runtime must run for a release on this node, in start order (each service after those
 * it depends on). configDir is `<serviceDir>/conf`, dataDir `<serviceDir>/data`.
 *
 * - process backend: `{node}` and `{release}` are substituted in command, args and a command health
 *   probe; the image is dropped. A service without a command cannot run.
 * - docker backend: a command or args that use `{node}` or `{release}` are process-only and left out
 *   (the image's own entrypoint runs); a service without an image cannot run.
 *
 * Throws ReleaseBackendError naming every service the backend cannot run, or TemplateRenderError with
 * every env value that does not render.
 */
export function serviceSpecs(record: ReleaseRecord, options: ServiceSpecOptions): ServiceSpec[] {
  const { services } = compileRelease(record)
  const unrunnable = services.filter((s) => (options.backend === 'process' ? s.command === undefined : s.image === undefined))
  if (unrunnable.length > 0) throw new ReleaseBackendError(`${record.name} ${record.version}`, options.backend, unrunnable.map((s) => s.name))
  const rendered = services.map((s) => renderEnv(s, options.values))
  const problems = rendered.flatMap((r) => r.problems)
  if (problems.length > 0) throw new TemplateRenderError(problems)
  return services.map((service, i) => specOf(service, rendered[i]!.env, options))
}

function specOf(service: ReleaseService, env: Record<string, string>, options: ServiceSpecOptions): ServiceSpec {
  const dir = options.serviceDir(service.name)
  const substitute = (word: string): string => word.replace(TOKENS, (_, token: string) => (token === 'node' ? options.nodeExecutable : options.releaseDir))
  const processOnly = [service.command ?? '', ...(service.args ?? [])].some((w) => PROCESS_ONLY.test(w))
  const run =
    options.backend === 'process'
      ? { command: substitute(service.command!), ...(service.args ? { args: service.args.map(substitute) } : {}) }
      : {
          image: service.image!,
          ...(service.command !== undefined && !processOnly ? { command: service.command } : {}),
          ...(service.args !== undefined && !processOnly ? { args: [...service.args] } : {})
        }
  // A process finds its watch socket and token file through its environment; a container mounts the socket (volumes).
  if (options.backend === 'process') Object.assign(env, { [ENV_WATCH_SOCKET]: join(dir, WATCH_SOCKET), [ENV_WATCH_FILE]: join(dir, WATCH_FILE) })
  return {
    name: service.name,
    ...run,
    ...(Object.keys(env).length > 0 ? { env } : {}),
    configDir: join(dir, 'conf'),
    dataDir: join(dir, 'data'),
    ...(service.ports ? { ports: service.ports } : {}),
    // Volume sources are relative to the service's directory on the node.
    ...(service.volumes && options.backend === 'docker' ? { volumes: service.volumes.map((v) => ({ source: join(dir, v.source), target: v.target, ...(v.readOnly ? { readOnly: true } : {}) })) } : {}),
    ...(service.health ? { health: options.backend === 'process' ? substituteProbe(service.health, substitute) : service.health } : {}),
    ...(service.restart ? { restart: service.restart } : {}),
    ...(service.stopTimeoutMs !== undefined ? { stopTimeoutMs: service.stopTimeoutMs } : {})
  }
}

function substituteProbe(health: HealthCheck, substitute: (word: string) => string): HealthCheck {
  const probe = health.probe
  if (probe.kind !== 'command') return health
  return { ...health, probe: { ...probe, command: substitute(probe.command), ...(probe.args ? { args: probe.args.map(substitute) } : {}) } }
}
