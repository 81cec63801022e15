import { DEFAULT_UDP_RECV_BUFFER_SIZE } from '../dns/constants.js'
import { splitHostPort } from '../dns/listen-address.js'

/**
 * `pryv-node doctor`'s judgments: pure functions from what was measured to OK, WARN or FAIL with
 * what to do. The measuring is in probes.ts.
 */
export type CheckResult = 'OK' | 'WARN' | 'FAIL'

export interface Check {
  readonly name: string
  readonly result: CheckResult
  readonly detail: string
  /** What to do, for WARN and FAIL. */
  readonly hint?: string
}

const RANK: Record<CheckResult, number> = { OK: 0, WARN: 1, FAIL: 2 }

export function worst(checks: readonly Check[]): CheckResult {
  return checks.reduce<CheckResult>((w, c) => (RANK[c.result] > RANK[w] ? c.result : w), 'OK')
}

/** A port this node listens on, probed by binding it. */
export interface PortProbe {
  readonly what: string
  readonly protocol: 'tcp' | 'udp'
  readonly address: string
  /** free: could bind; in-use; denied: needs privileges; error: anything else. */
  readonly outcome: 'free' | 'in-use' | 'denied' | 'error'
  readonly error?: string
}

/** `servedByNode`: the local node runs and listens there, so "in use" is expected. */
export function judgePort(p: PortProbe, servedByNode: boolean): Check {
  const name = `port ${p.what} (${p.protocol} ${p.address})`
  if (p.outcome === 'free') return { name, result: 'OK', detail: 'free' }
  if (p.outcome === 'in-use' && servedByNode) return { name, result: 'OK', detail: 'served by this node' }
  if (p.outcome === 'in-use') return { name, result: 'FAIL', detail: 'in use by another process', hint: `Stop what listens on ${p.address} (ss -lntup | grep ${splitHostPort(p.address).port}), or choose another address.` }
  if (p.outcome === 'denied') return { name, result: 'FAIL', detail: 'not allowed to bind it', hint: 'Ports below 1024 need root or CAP_NET_BIND_SERVICE (the unit of `pryv-node service install` grants it).' }
  return { name, result: 'FAIL', detail: p.error ?? 'cannot bind', hint: 'Check that the address is one of this machine\'s.' }
}

/** fdatasync latencies (ms) of small writes in the data dir; etcd's guidance: p99 under 10 ms. */
export function judgeFsync(samplesMs: readonly number[]): Check {
  const sorted = [...samplesMs].sort((a, b) => a - b)
  const p99 = sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] ?? 0
  const detail = `fsync p99 ${p99.toFixed(1)} ms over ${sorted.length} writes`
  if (p99 <= 10) return { name: 'disk fsync latency', result: 'OK', detail }
  const hint = 'Every committed write waits for an fsync: put the data dir on a local SSD (not a network or throttled volume).'
  return { name: 'disk fsync latency', result: p99 <= 50 ? 'WARN' : 'FAIL', detail, hint }
}

const MIN_FREE_BYTES = 256 * 1024 * 1024
const LOW_FREE_BYTES = 2 * 1024 * 1024 * 1024

export function judgeFreeSpace(freeBytes: number, path: string): Check {
  const detail = `${(freeBytes / 1024 / 1024).toFixed(0)} MiB free on ${path}`
  if (freeBytes >= LOW_FREE_BYTES) return { name: 'disk free space', result: 'OK', detail }
  const hint = 'The platform log grows with every write: free some space, or move the data dir (--data-dir) to a larger disk.'
  return { name: 'disk free space', result: freeBytes >= MIN_FREE_BYTES ? 'WARN' : 'FAIL', detail, hint }
}

export function judgeFdLimit(soft: number, whose: string): Check {
  const detail = `${soft} open files (${whose})`
  if (soft >= 65536) return { name: 'file-descriptor limit', result: 'OK', detail }
  const hint = 'Raise it to 65536 (LimitNOFILE=65536 in the systemd unit, as `pryv-node service install` writes; ulimit -n in a shell).'
  return { name: 'file-descriptor limit', result: soft >= 4096 ? 'WARN' : 'FAIL', detail, hint }
}

/** The DNS server asks for DEFAULT_UDP_RECV_BUFFER_SIZE; the kernel caps it at net.core.rmem_max. */
export function judgeRmemMax(bytes: number | undefined): Check {
  const name = 'net.core.rmem_max'
  if (bytes === undefined) return { name, result: 'WARN', detail: 'unknown (no /proc/sys/net/core/rmem_max)', hint: 'Check the UDP receive buffer limit of this system.' }
  const detail = `${bytes} bytes`
  if (bytes >= DEFAULT_UDP_RECV_BUFFER_SIZE) return { name, result: 'OK', detail }
  return { name, result: 'WARN', detail: `${detail}: DNS under load drops queries past a small receive buffer`, hint: `sysctl -w net.core.rmem_max=${DEFAULT_UDP_RECV_BUFFER_SIZE} (and in /etc/sysctl.d/ to keep it).` }
}

export type EngineProbe =
  | { readonly reachable: true, readonly version: string, readonly driver: string }
  | { readonly reachable: false, readonly error: string }

/** `required`: --services docker (an engine is needed); auto falls back to processes. */
export function judgeEngine(p: EngineProbe, socket: string, required: boolean): Check {
  const name = `Docker engine (${socket})`
  if (p.reachable) return { name, result: 'OK', detail: `version ${p.version}, storage driver ${p.driver}` }
  return {
    name,
    result: required ? 'FAIL' : 'WARN',
    detail: `not answering: ${p.error}${required ? '' : ' (auto: services would run as processes)'}`,
    hint: 'Start the engine (systemctl start docker, or podman system service), or name its socket with --docker-socket.'
  }
}

/** What the local node knows of a member, from its heartbeats (status). */
export interface MemberView {
  readonly name: string
  readonly self: boolean
  readonly alive: boolean
  readonly version: string | null
  readonly clockOffsetMs: number | null
  readonly lastSeenAgoMs: number | null
}

const CLOCK_WARN_MS = 1000
const CLOCK_FAIL_MS = 5000

export function judgeMembers(members: readonly MemberView[], ownVersion: string): Check[] {
  const others = members.filter((m) => !m.self)
  if (others.length === 0) return [{ name: 'members', result: 'OK', detail: 'this node is the only member' }]
  const down = others.filter((m) => !m.alive)
  const checks: Check[] = [down.length === 0
    ? { name: 'members reachable', result: 'OK', detail: `${others.length} other member(s) heard from` }
    : { name: 'members reachable', result: 'WARN', detail: `not heard from: ${down.map((m) => m.name).join(', ')}`, hint: 'Check that those machines run, and that their mesh port is open between the machines (firewall, --announce).' }]
  const offsets = others.filter((m) => m.alive && m.clockOffsetMs !== null) as Array<MemberView & { clockOffsetMs: number }>
  const far = offsets.filter((m) => Math.abs(m.clockOffsetMs) >= CLOCK_WARN_MS)
  const show = (m: { name: string, clockOffsetMs: number }): string => `${m.name} ${m.clockOffsetMs > 0 ? '+' : ''}${(m.clockOffsetMs / 1000).toFixed(1)} s`
  if (offsets.length === 0) checks.push({ name: 'clock offset', result: 'WARN', detail: 'no member\'s clock known yet', hint: 'Run doctor again once the members have exchanged heartbeats (a few seconds).' })
  else if (far.length === 0) checks.push({ name: 'clock offset', result: 'OK', detail: `within ${CLOCK_WARN_MS} ms of ${offsets.length} member(s)` })
  else checks.push({
    name: 'clock offset',
    result: far.some((m) => Math.abs(m.clockOffsetMs) >= CLOCK_FAIL_MS) ? 'FAIL' : 'WARN',
    detail: `against this node: ${far.map(show).join(', ')}`,
    hint: 'Run NTP on every machine (systemd-timesyncd or chrony); invites, ACME challenges and tokens expire by the clock.'
  })
  const otherVersions = others.filter((m) => m.version !== null && m.version !== ownVersion)
  checks.push(otherVersions.length === 0
    ? { name: 'version', result: 'OK', detail: `${ownVersion}, as every member that said` }
    : { name: 'version', result: 'WARN', detail: `this node ${ownVersion}; ${otherVersions.map((m) => `${m.name} ${m.version}`).join(', ')}`, hint: 'Upgrade the members to the same pryv-node version, one at a time.' })
  return checks
}

/** What the node's other members found when they dialled its advertised addresses (src/node/reachability.ts). */
export interface ReachabilityView {
  readonly targets: ReadonlyArray<{ readonly kind: 'mesh' | 'join' | 'dns', readonly address: string }>
  readonly askedOf: ReadonlyArray<{
    readonly member: string
    readonly results?: ReadonlyArray<{ readonly kind: string, readonly address: string, readonly ok: boolean, readonly dialled?: false, readonly latencyMs?: number, readonly error?: string }>
    readonly error?: string
  }>
  readonly otherMembers: number
}

const REACH_WHAT = { mesh: 'mesh (tcp)', join: 'join endpoint (tcp)', dns: 'DNS (udp)' } as const

/**
 * One check per advertised address: OK when every member asked reached it, FAIL when those that dialled
 * it all failed, WARN between (or when a member did not dial it, not knowing it yet).
 */
export function judgeReachability(r: ReachabilityView): Check[] {
  if (r.otherMembers === 0) return [{ name: 'advertised addresses', result: 'OK', detail: 'not checked: this node is the only member' }]
  const answered = r.askedOf.filter((a) => a.results !== undefined)
  if (answered.length === 0) {
    const why = r.askedOf.length === 0 ? 'no other member is up to ask' : r.askedOf.map((a) => `${a.member} ${a.error ?? ''}`.trim()).join('; ')
    return [{ name: 'advertised addresses', result: 'WARN', detail: `not checked: ${why}`, hint: 'Run doctor again once another member is up (pryv-node members list).' }]
  }
  return r.targets.map((t) => {
    const name = `reachable ${REACH_WHAT[t.kind]} ${t.address}`
    const seen = answered.map((a) => ({ member: a.member, result: a.results!.find((x) => x.kind === t.kind && x.address === t.address) }))
    const reached = seen.filter((s) => s.result?.ok === true)
    const missed = seen.filter((s) => s.result?.ok !== true)
    const missedText = missed.map((s) => `${s.member}: ${s.result?.error ?? 'not dialled'}`).join('; ')
    const failed = missed.filter((s) => s.result !== undefined && s.result.dialled !== false)
    if (missed.length === 0) return { name, result: 'OK', detail: `from ${reached.map((s) => `${s.member} (${s.result!.latencyMs} ms)`).join(', ')}` }
    const port = t.kind === 'dns' ? String(splitHostPort(t.address).port) : /\/tcp\/(\d+)/.exec(t.address)?.[1] ?? '?'
    const hint = t.kind === 'dns'
      ? `Open UDP and TCP port ${port} towards this machine, or serve DNS on an address the others reach (--dns).`
      : `Open TCP port ${port} towards this machine in the firewall between the machines, or announce an address the others reach (--announce on start).`
    if (failed.length === 0) return { name, result: 'WARN', detail: `not checked: ${missedText}`, hint: 'The members learn this node\'s addresses from its heartbeats: run doctor again in a few seconds.' }
    return { name, result: reached.length === 0 ? 'FAIL' : 'WARN', detail: reached.length === 0 ? `not reached (${missedText})` : `reached by ${reached.map((s) => s.member).join(', ')}; not by ${missedText}`, hint }
  })
}

/** The platform's certificate as `certs status` gives it (src/node/certs-service.ts). */
export interface CertificateView {
  readonly names: readonly string[]
  readonly notAfter: string
  readonly daysLeft: number
  readonly renewAt: string
}

const CERT_WARN_DAYS = 14

/** Expired: FAIL; within two weeks of expiry (the renewal is late: it starts 30 days before by default): WARN. */
export function judgeCertificate(cert: CertificateView | null, automatic: boolean): Check {
  const name = 'certificate expiry'
  if (!cert) {
    return automatic
      ? { name, result: 'WARN', detail: 'no certificate yet, though ACME is set up', hint: 'See `pryv-node certs status` for the last attempt and its error.' }
      : { name, result: 'OK', detail: 'no certificate (ACME not set up: certs.email)' }
  }
  const detail = `${cert.names.join(', ')}: until ${cert.notAfter} (${cert.daysLeft} days)`
  if (cert.daysLeft <= 0) return { name, result: 'FAIL', detail: `expired: ${detail}`, hint: 'Renew it now: `pryv-node certs renew` (or import one with `pryv-node certs import`).' }
  if (cert.daysLeft < CERT_WARN_DAYS) return { name, result: 'WARN', detail, hint: 'Its renewal is late: see `pryv-node certs status` for the last attempt, then `pryv-node certs renew`.' }
  return { name, result: 'OK', detail: `${detail}, renewed from ${cert.renewAt}` }
}

/** This node's scheduled backups, from its status (src/node/backup-scheduler.ts). */
export interface BackupView {
  readonly dir: string
  readonly intervalMs: number
  readonly lastAt: number | null
  readonly lastError: string | null
  readonly stale: boolean
}

/** Backups made while this node leads: the last good one older than twice the interval, or failing: WARN. */
export function judgeBackups(b: BackupView | null, now: number): Check {
  const name = 'backup age'
  if (!b) return { name, result: 'WARN', detail: 'no scheduled backups (backup.directory is not set)', hint: 'Set backup.directory and a key (pryv-node backup keygen; backup.keyFile), or make backups by hand (pryv-node backup FILE --key-file KEY).' }
  const age = b.lastAt === null ? 'none yet' : `last good ${formatAge(now - b.lastAt)} ago`
  const detail = `${age} in ${b.dir} (every ${formatAge(b.intervalMs)})${b.lastError ? `; last error: ${b.lastError}` : ''}`
  if (b.stale || b.lastError) return { name, result: 'WARN', detail, hint: 'Check the backup directory and key (pryv-node status shows the scheduled backups); backups are made by the writer set\'s leader.' }
  return { name, result: 'OK', detail }
}

function formatAge(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (minutes < 120) return `${minutes} min`
  const hours = Math.round(minutes / 60)
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`
}
