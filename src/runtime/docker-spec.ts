import type { ContainerCreateOptions } from 'dockerode'
import { ENV_CONFIG_DIR, ENV_DATA_DIR, LABEL_NODE, LABEL_PLATFORM, LABEL_SERVICE, LABEL_SPEC_HASH } from './constants.js'
import { InvalidSpecError } from './errors.js'
import type { ServiceSpec } from './runtime.js'
import { configMountOf, dataMountOf, restartPolicyOf } from './spec.js'

/** Who the node is: every container it creates carries these, and it touches no other. */
export interface Owner {
  readonly platformId: string
  readonly nodeId: string
  /** More labels for every container (tests mark theirs for cleanup). */
  readonly labels?: Readonly<Record<string, string>>
}

export function containerName(owner: Owner, service: string): string {
  return `pryv-${owner.platformId}-${owner.nodeId}-${service}`
}

/** Engine label filters selecting this node's containers (and one service's when given). */
export function ownerFilters(owner: Owner, service?: string): string {
  const label = [`${LABEL_PLATFORM}=${owner.platformId}`, `${LABEL_NODE}=${owner.nodeId}`]
  if (service !== undefined) label.push(`${LABEL_SERVICE}=${service}`)
  return JSON.stringify({ label })
}

export function toCreateOptions(spec: ServiceSpec, owner: Owner, hash: string): ContainerCreateOptions {
  if (spec.image === undefined) throw new InvalidSpecError(spec.name, 'the docker runtime needs an image')
  const env: Record<string, string> = { ...spec.env }
  const binds: string[] = []
  if (spec.configDir !== undefined) {
    // The directory, not its files: a file mount keeps showing the old inode after an atomic rename.
    binds.push(`${spec.configDir}:${configMountOf(spec)}:ro`)
    env[ENV_CONFIG_DIR] = configMountOf(spec)
  }
  if (spec.dataDir !== undefined) {
    binds.push(`${spec.dataDir}:${dataMountOf(spec)}`)
    env[ENV_DATA_DIR] = dataMountOf(spec)
  }
  for (const v of spec.volumes ?? []) binds.push(`${v.source}:${v.target}${v.readOnly ? ':ro' : ''}`)
  const network = spec.network ?? 'host'
  const publish = network !== 'host' && network !== 'none' && (spec.ports?.length ?? 0) > 0
  const exposed: Record<string, object> = {}
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {}
  for (const p of publish ? (spec.ports ?? []) : []) {
    const key = `${p.container}/${p.protocol ?? 'tcp'}`
    exposed[key] = {}
    bindings[key] = [{ HostIp: p.hostIp ?? '127.0.0.1', HostPort: String(p.host ?? p.container) }]
  }
  const restart = restartPolicyOf(spec)
  return {
    name: containerName(owner, spec.name),
    Image: spec.image,
    Entrypoint: spec.command === undefined ? undefined : [spec.command],
    Cmd: spec.args === undefined ? undefined : [...spec.args],
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: spec.workingDir,
    Labels: {
      ...owner.labels,
      [LABEL_PLATFORM]: owner.platformId,
      [LABEL_NODE]: owner.nodeId,
      [LABEL_SERVICE]: spec.name,
      [LABEL_SPEC_HASH]: hash
    },
    ExposedPorts: publish ? exposed : undefined,
    StopTimeout: spec.stopTimeoutMs === undefined ? undefined : Math.ceil(spec.stopTimeoutMs / 1000),
    HostConfig: {
      // A PID 1 that ignores SIGTERM would make every stop wait for the full timeout.
      Init: true,
      Binds: binds,
      NetworkMode: network,
      PortBindings: publish ? bindings : undefined,
      RestartPolicy: { Name: restart.policy, MaximumRetryCount: restart.policy === 'on-failure' ? (restart.maxRetries ?? 0) : undefined }
    }
  }
}
