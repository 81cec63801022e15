import type { HealthCheck, HealthProbe, PortMapping, RestartPolicy } from '../runtime/runtime.js'
import { type FileProblems, isRecord, isStringList, join, show } from './problems.js'
import { isSemver } from './semver.js'
import { ON_CHANGE, type OnChange, RELOAD_SIGNALS, type ReleaseService, type ReloadSignal } from './types.js'

/** release.yaml, checked field by field. Services that have problems are still returned, for the other checks. */
export interface Manifest {
  readonly name?: string
  readonly version?: string
  readonly description?: string
  readonly services: readonly ReleaseService[]
}

export const RELEASE_NAME = /^[a-z][a-z0-9-]*(?:\.[a-z0-9-]+)*$/
/** Service names end up in container names, directories, env and DNS: lower-case letters, digits and `-`. */
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,62}$/
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const IMAGE = /^[a-z0-9][a-z0-9._/:-]*(?:@sha256:[0-9a-f]{64})?$/
const DIGEST = /@sha256:[0-9a-f]{64}$/

const TOP_FIELDS = ['name', 'version', 'description', 'services'] as const
const SERVICE_FIELDS = ['image', 'command', 'args', 'env', 'ports', 'volumes', 'health', 'restart', 'stopTimeoutMs', 'dependsOn', 'dnsNames', 'certificate', 'onChange', 'signal'] as const

export function parseManifest(data: unknown, problems: FileProblems): Manifest {
  if (!isRecord(data)) {
    problems.add(undefined, `must be a map with ${TOP_FIELDS.join(', ')}, got ${show(data)}`, 'write e.g. "name: demo", "version: 1.0.0" and a "services:" map')
    return { services: [] }
  }
  problems.unknownKeys(data, TOP_FIELDS, '', 'field')
  const name = requiredString(data, 'name', problems, 'give the release a name, e.g. "name: pryv-io"')
  if (name !== undefined && !RELEASE_NAME.test(name)) {
    problems.add('name', `'${name}' is not a valid release name`, 'use lower-case letters, digits, "-" and ".", starting with a letter')
  }
  const version = requiredString(data, 'version', problems, 'give the release a version, e.g. "version: 1.2.0"')
  if (version !== undefined && !isSemver(version)) {
    problems.add('version', `'${version}' is not a semantic version`, 'write MAJOR.MINOR.PATCH, e.g. 1.2.0 (quote it if YAML reads it as a number)')
  }
  let description: string | undefined
  if (data.description !== undefined) {
    if (typeof data.description === 'string') description = data.description
    else problems.add('description', 'must be text', 'write one line describing the release')
  }
  const services: ReleaseService[] = []
  if (!isRecord(data.services) || Object.keys(data.services).length === 0) {
    problems.add('services', data.services === undefined ? 'is missing' : 'must be a non-empty map of service name to service', 'list the services, e.g. "services:" then "  core:" with its image or command')
  } else {
    for (const [serviceName, def] of Object.entries(data.services)) {
      const service = parseService(serviceName, def, problems)
      if (service) services.push(service)
    }
  }
  return { ...(name !== undefined ? { name } : {}), ...(version !== undefined ? { version } : {}), ...(description !== undefined ? { description } : {}), services }
}

function requiredString(data: Record<string, unknown>, key: string, problems: FileProblems, fix: string): string | undefined {
  const value = data[key]
  if (typeof value === 'string' && value !== '') return value
  problems.add(key, value === undefined ? 'is missing' : `must be text, got ${show(value)}`, fix)
  return undefined
}

function parseService(name: string, def: unknown, problems: FileProblems): ReleaseService | undefined {
  const field = `services.${name}`
  if (!SERVICE_NAME.test(name)) {
    problems.add(field, `'${name}' is not a valid service name`, 'use lower-case letters, digits and "-", starting with a letter (at most 63 characters)')
  }
  if (!isRecord(def)) {
    problems.add(field, `must be a map of service fields, got ${show(def)}`, `give it an image or a command, e.g. "image: registry/${name}:1.0.0"`)
    return undefined
  }
  problems.unknownKeys(def, SERVICE_FIELDS, field, 'service field')
  const service: { -readonly [K in keyof ReleaseService]: ReleaseService[K] } = { name }
  const at = (key: string): string => join(field, key)

  if (def.image !== undefined) {
    if (typeof def.image !== 'string') problems.add(at('image'), 'must be text', 'write the image as repository:tag or repository@sha256:…')
    else {
      checkImage(def.image, at('image'), problems)
      service.image = def.image
    }
  }
  if (def.command !== undefined) {
    if (typeof def.command !== 'string' || def.command === '') problems.add(at('command'), 'must be non-empty text', 'write the executable, e.g. "{node}" or "/usr/bin/node"')
    else service.command = def.command
  }
  if (def.image === undefined && def.command === undefined) {
    problems.add(field, 'has neither an image nor a command', 'give it an image (docker backend) or a command (process backend), or both')
  }
  if (def.args !== undefined) {
    if (!isStringList(def.args)) problems.add(at('args'), 'must be a list of text', 'quote each argument, e.g. args: ["--port", "3000"]')
    else service.args = def.args
  }
  if (def.env !== undefined) service.env = parseEnv(def.env, at('env'), problems)
  if (def.ports !== undefined) service.ports = parsePorts(def.ports, at('ports'), problems)
  if (def.volumes !== undefined) service.volumes = parseVolumes(def.volumes, at('volumes'), problems)
  if (def.health !== undefined) service.health = parseHealth(def.health, at('health'), problems)
  if (def.restart !== undefined) service.restart = parseRestart(def.restart, at('restart'), problems)
  if (def.stopTimeoutMs !== undefined) {
    if (!isCount(def.stopTimeoutMs)) problems.add(at('stopTimeoutMs'), `must be a whole number of milliseconds, got ${show(def.stopTimeoutMs)}`, 'e.g. stopTimeoutMs: 10000')
    else service.stopTimeoutMs = def.stopTimeoutMs
  }
  if (def.dependsOn !== undefined) {
    if (!isStringList(def.dependsOn)) problems.add(at('dependsOn'), 'must be a list of service names', 'e.g. dependsOn: [mongodb]')
    else service.dependsOn = def.dependsOn
  }
  if (def.dnsNames !== undefined) {
    if (!isStringList(def.dnsNames)) problems.add(at('dnsNames'), 'must be a list of DNS labels', 'e.g. dnsNames: [reg, sw]')
    else {
      for (const label of def.dnsNames) {
        if (!DNS_LABEL.test(label)) problems.add(at('dnsNames'), `'${label}' is not a DNS label`, 'use lower-case letters, digits and "-" (one label: the platform domain is added)')
      }
      service.dnsNames = def.dnsNames
    }
  }
  if (def.certificate !== undefined) {
    const certificate = parseCertificateFiles(def.certificate, at('certificate'), problems)
    if (certificate) service.certificate = certificate
  }
  parseOnChange(def, service, at, problems)
  return service
}

/** Where a service reads the platform's certificate: two paths under conf/ of its directory; `{domain}` is the platform domain. */
function parseCertificateFiles(def: unknown, field: string, problems: FileProblems): ReleaseService['certificate'] {
  const fix = 'e.g. certificate: { chain: "conf/secret/{domain}-bundle.crt", key: "conf/secret/{domain}-key.pem" }'
  if (!isRecord(def)) {
    problems.add(field, `must be a map with chain and key, got ${show(def)}`, fix)
    return undefined
  }
  problems.unknownKeys(def, ['chain', 'key'], field, 'certificate field')
  let ok = true
  for (const key of ['chain', 'key'] as const) {
    const path = def[key]
    if (typeof path !== 'string' || !CERT_PATH.test(path) || path.split('/').some((s) => s === '..' || s === '.')) {
      problems.add(join(field, key), `must be a path under conf/ of the service's directory, got ${show(path)}`, fix)
      ok = false
    }
  }
  if (ok && def.chain === def.key) {
    problems.add(field, 'chain and key must be different files', fix)
    ok = false
  }
  return ok ? { chain: def.chain as string, key: def.key as string } : undefined
}

const CERT_PATH = /^conf\/[A-Za-z0-9{}._/-]+$/


function parseOnChange(def: Record<string, unknown>, service: { onChange?: OnChange; signal?: ReloadSignal }, at: (key: string) => string, problems: FileProblems): void {
  if (def.onChange !== undefined) {
    if (typeof def.onChange !== 'string' || !ON_CHANGE.includes(def.onChange as OnChange)) {
      problems.add(at('onChange'), `must be one of ${ON_CHANGE.join(', ')}, got ${show(def.onChange)}`, 'restart (the default), signal (with signal: SIGHUP) or none (the service follows the watch API)')
    } else service.onChange = def.onChange as OnChange
  }
  if (def.signal !== undefined) {
    if (def.onChange !== 'signal') problems.add(at('signal'), 'is only used with onChange: signal', 'add onChange: signal, or remove signal')
    else if (typeof def.signal !== 'string' || !(RELOAD_SIGNALS as readonly string[]).includes(def.signal)) {
      problems.add(at('signal'), `must be one of ${RELOAD_SIGNALS.join(', ')}, got ${show(def.signal)}`, 'e.g. signal: SIGHUP')
    } else service.signal = def.signal as ReloadSignal
  }
}

/** A pinned image: a tag other than `latest`, or a sha256 digest. */
function checkImage(image: string, field: string, problems: FileProblems): void {
  if (!IMAGE.test(image)) {
    problems.add(field, `'${image}' is not an image reference`, 'write repository:tag or repository@sha256:<64 hex>, in lower case')
    return
  }
  if (DIGEST.test(image)) return
  const lastSlash = image.lastIndexOf('/')
  const colon = image.lastIndexOf(':')
  const tag = colon > lastSlash ? image.slice(colon + 1) : undefined
  if (tag === undefined || tag === '') {
    problems.add(field, `'${image}' has no tag: it is not pinned`, `pin a version, e.g. ${image}:1.2.3, or a digest (${image}@sha256:…)`)
  } else if (tag === 'latest') {
    problems.add(field, `'${image}' uses the tag latest: it is not pinned`, 'pin a version tag or a digest: every node must run the same image')
  }
}

function parseEnv(value: unknown, field: string, problems: FileProblems): Record<string, string> | undefined {
  if (!isRecord(value)) {
    problems.add(field, 'must be a map of variable name to text', 'e.g. env: { NODE_ENV: production }')
    return undefined
  }
  const env: Record<string, string> = {}
  for (const [key, v] of Object.entries(value)) {
    if (!ENV_NAME.test(key)) problems.add(join(field, key), `'${key}' is not a variable name`, 'use letters, digits and "_", not starting with a digit')
    if (typeof v !== 'string') problems.add(join(field, key), `must be text, got ${show(v)}`, `quote the value, e.g. ${key}: "${String(v)}"`)
    else env[key] = v
  }
  return env
}

function parsePorts(value: unknown, field: string, problems: FileProblems): PortMapping[] | undefined {
  if (!Array.isArray(value)) {
    problems.add(field, 'must be a list of ports', 'e.g. ports: [{ container: 3000, host: 3000 }]')
    return undefined
  }
  const ports: PortMapping[] = []
  value.forEach((p, i) => {
    const at = `${field}[${i}]`
    if (!isRecord(p)) {
      problems.add(at, `must be a map, got ${show(p)}`, 'e.g. { container: 3000, host: 3000, protocol: tcp }')
      return
    }
    problems.unknownKeys(p, ['container', 'host', 'protocol', 'hostIp'], at, 'port field')
    let ok = true
    for (const key of ['container', 'host'] as const) {
      if (p[key] === undefined && key === 'host') continue
      if (!isPort(p[key])) {
        problems.add(join(at, key), `must be a port number (1–65535), got ${show(p[key])}`, 'write a whole number between 1 and 65535')
        ok = false
      }
    }
    if (p.protocol !== undefined && p.protocol !== 'tcp' && p.protocol !== 'udp') {
      problems.add(join(at, 'protocol'), `must be tcp or udp, got ${show(p.protocol)}`, 'write tcp or udp')
      ok = false
    }
    if (p.hostIp !== undefined && typeof p.hostIp !== 'string') {
      problems.add(join(at, 'hostIp'), 'must be an IP address', 'e.g. hostIp: 127.0.0.1')
      ok = false
    }
    if (ok) ports.push(p as unknown as PortMapping)
  })
  return ports
}

function parseVolumes(value: unknown, field: string, problems: FileProblems): ReleaseService['volumes'] {
  if (!Array.isArray(value)) {
    problems.add(field, 'must be a list of volumes', 'e.g. volumes: [{ source: backup, target: /app/backup }]')
    return undefined
  }
  const volumes: Array<{ source: string; target: string; readOnly?: boolean }> = []
  value.forEach((v, i) => {
    const at = `${field}[${i}]`
    if (!isRecord(v)) {
      problems.add(at, `must be a map, got ${show(v)}`, 'e.g. { source: backup, target: /app/backup, readOnly: false }')
      return
    }
    problems.unknownKeys(v, ['source', 'target', 'readOnly'], at, 'volume field')
    const source = v.source
    const target = v.target
    let ok = true
    if (typeof source !== 'string' || !isRelativeInside(source)) {
      problems.add(join(at, 'source'), `must be a path relative to the service's directory, got ${show(source)}`, 'write a relative path without ".." (e.g. backup), not an absolute host path')
      ok = false
    }
    if (typeof target !== 'string' || !target.startsWith('/')) {
      problems.add(join(at, 'target'), `must be an absolute path inside the container, got ${show(target)}`, 'e.g. target: /app/backup')
      ok = false
    }
    if (v.readOnly !== undefined && typeof v.readOnly !== 'boolean') {
      problems.add(join(at, 'readOnly'), 'must be true or false', 'write readOnly: true or leave it out')
      ok = false
    }
    if (ok) volumes.push({ source: source as string, target: target as string, ...(v.readOnly !== undefined ? { readOnly: v.readOnly as boolean } : {}) })
  })
  return volumes
}

function parseHealth(value: unknown, field: string, problems: FileProblems): HealthCheck | undefined {
  const fix = 'e.g. health: { probe: { kind: http, port: 3000, path: /status }, intervalMs: 5000 }'
  if (!isRecord(value)) {
    problems.add(field, 'must be a map with a probe', fix)
    return undefined
  }
  problems.unknownKeys(value, ['probe', 'intervalMs', 'timeoutMs', 'retries', 'startPeriodMs'], field, 'health field')
  let ok = true
  for (const key of ['intervalMs', 'timeoutMs', 'retries', 'startPeriodMs'] as const) {
    if (value[key] !== undefined && !isCount(value[key])) {
      problems.add(join(field, key), `must be a whole number ≥ 0, got ${show(value[key])}`, key === 'retries' ? 'e.g. retries: 3' : `e.g. ${key}: 5000 (milliseconds)`)
      ok = false
    }
  }
  const probe = parseProbe(value.probe, join(field, 'probe'), problems)
  return ok && probe ? ({ ...value, probe } as HealthCheck) : undefined
}

function parseProbe(value: unknown, field: string, problems: FileProblems): HealthProbe | undefined {
  if (!isRecord(value)) {
    problems.add(field, value === undefined ? 'is missing' : 'must be a map', 'give the probe a kind: command (command, args), http (port, path) or tcp (port)')
    return undefined
  }
  switch (value.kind) {
    case 'command':
      problems.unknownKeys(value, ['kind', 'command', 'args'], field, 'probe field')
      if (typeof value.command !== 'string' || value.command === '') {
        problems.add(join(field, 'command'), 'is missing', 'write the program to run, e.g. command: sh, args: ["-c", "test -s ready"]')
        return undefined
      }
      if (value.args !== undefined && !isStringList(value.args)) {
        problems.add(join(field, 'args'), 'must be a list of text', 'quote each argument')
        return undefined
      }
      return value as HealthProbe
    case 'http':
    case 'tcp': {
      problems.unknownKeys(value, value.kind === 'http' ? ['kind', 'port', 'path', 'host'] : ['kind', 'port', 'host'], field, 'probe field')
      if (!isPort(value.port)) {
        problems.add(join(field, 'port'), `must be a port number, got ${show(value.port)}`, 'write the port the node reaches the service on')
        return undefined
      }
      return value as HealthProbe
    }
    default:
      problems.add(join(field, 'kind'), `must be command, http or tcp, got ${show(value.kind)}`, 'write kind: command, kind: http or kind: tcp')
      return undefined
  }
}

function parseRestart(value: unknown, field: string, problems: FileProblems): RestartPolicy | undefined {
  const policies = ['no', 'on-failure', 'unless-stopped']
  if (!isRecord(value) || typeof value.policy !== 'string' || !policies.includes(value.policy)) {
    problems.add(field, `must be a map with a policy (${policies.join(', ')})`, 'e.g. restart: { policy: on-failure, maxRetries: 5 }')
    return undefined
  }
  problems.unknownKeys(value, ['policy', 'maxRetries'], field, 'restart field')
  if (value.maxRetries !== undefined && !isCount(value.maxRetries)) {
    problems.add(join(field, 'maxRetries'), `must be a whole number ≥ 0, got ${show(value.maxRetries)}`, 'e.g. maxRetries: 5 (0: no bound)')
    return undefined
  }
  return value as unknown as RestartPolicy
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0
}

function isPort(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 65535
}

/** A relative POSIX path with no `.`, `..` or empty segments. */
export function isRelativeInside(path: string): boolean {
  return path !== '' && !path.startsWith('/') && !path.includes('\\') && path.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
}
