import { canonicalJson } from '../canonical-json.js'
import { createHash } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import { DEFAULT_CONFIG_MOUNT, DEFAULT_DATA_MOUNT } from './constants.js'
import { InvalidSpecError } from './errors.js'
import type { RestartPolicy, ServiceSpec } from './runtime.js'

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/

/** Throws InvalidSpecError for a spec no backend can run. */
export function validateSpec(spec: ServiceSpec): void {
  if (!NAME.test(spec.name)) {
    throw new InvalidSpecError(spec.name, 'the name may hold only letters, digits, _, . and -, and must start with a letter or digit')
  }
  if (spec.image === undefined && spec.command === undefined) {
    throw new InvalidSpecError(spec.name, 'it has neither an image nor a command')
  }
  for (const [field, path] of [
    ['configDir', spec.configDir],
    ['dataDir', spec.dataDir]
  ] as const) {
    // Docker would take a relative path for the name of a volume.
    if (path !== undefined && !isAbsolute(path)) throw new InvalidSpecError(spec.name, `${field} must be an absolute path, not ${path}`)
  }
  for (const v of spec.volumes ?? []) {
    if (!isAbsolute(v.source) || !isAbsolute(v.target)) throw new InvalidSpecError(spec.name, `volume ${v.source}:${v.target} needs absolute paths on both sides`)
  }
  for (const p of spec.ports ?? []) {
    for (const port of [p.container, p.host ?? p.container]) {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new InvalidSpecError(spec.name, `port ${port} is not between 1 and 65535`)
      }
    }
  }
}

/** Identifier checks for platform and node ids, which end up in container names and labels. */
export function validateId(kind: string, id: string): void {
  if (!NAME.test(id)) throw new InvalidSpecError(id, `the ${kind} id may hold only letters, digits, _, . and -`)
}

/** Hash of everything that shapes the running service (all but `desiredState`); key order does not matter. */
export function specHash(spec: ServiceSpec): string {
  const { desiredState: _ignored, ...shape } = spec
  return createHash('sha256').update(canonicalJson(shape)).digest('hex').slice(0, 16)
}

export function restartPolicyOf(spec: ServiceSpec): RestartPolicy {
  return spec.restart ?? { policy: 'unless-stopped' }
}

export function configMountOf(spec: ServiceSpec): string {
  return spec.configMountPath ?? DEFAULT_CONFIG_MOUNT
}

export function dataMountOf(spec: ServiceSpec): string {
  return spec.dataMountPath ?? DEFAULT_DATA_MOUNT
}

export interface ServiceDirs {
  readonly root: string
  readonly conf: string
  readonly data: string
  readonly log: string
}

/** The directories of a service under the node's data directory: `<data-dir>/services/<name>/…`. */
export function serviceDirs(dataDir: string, name: string): ServiceDirs {
  const root = join(dataDir, 'services', name)
  return { root, conf: join(root, 'conf'), data: join(root, 'data'), log: join(root, 'log') }
}
