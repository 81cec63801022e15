import { DEFAULT_MAX_UDP_PAYLOAD, DEFAULT_TCP_CONNECTIONS_PER_SOURCE, DEFAULT_TCP_IDLE_TIMEOUT_MS, DEFAULT_TTL } from '../dns/constants.js'
import { type PryvCustomEntries, pryvCustomEntriesToRecords } from '../dns/pryv-entries.js'
import { DEFAULT_RATE_LIMIT } from '../dns/rrl.js'
import type { DnsLimits } from '../dns/server.js'
import type { AcmeChallengeSpec, StaticRecord, WeightedNameSpec, ZoneSpec } from '../dns/zone-spec.js'
import type { Member, PlatformState } from '../state/types.js'
import { compareText } from '../text-order.js'

/** A DNS name under the domain and the release service that answers it. */
export interface ServiceName {
  readonly name: string
  readonly service: string
}

/** IP addresses of a member, from its multiaddrs (wildcards are not addresses). */
export function memberIps(addresses: readonly string[]): string[] {
  const ips = new Set<string>()
  for (const a of addresses) {
    const m = /^\/(ip4|ip6)\/([^/]+)\//.exec(a)
    if (m && m[2] !== '0.0.0.0' && m[2] !== '::') ips.add(m[2]!)
  }
  return [...ips]
}

/**
 * The DNS zone as every node derives it from the same replicated state: the same revision gives the
 * same zone on every node. Liveness is not part of it: it is applied on top as target health.
 */
/**
 * `serviceNames` are the release's service DNS names (`reg`, `sw`, …): each is spread over the full
 * members by weight, every one of which runs the release's services.
 */
export function zoneFromState(
  domain: string,
  state: PlatformState,
  self: Member,
  addressesOf: (m: Member) => readonly string[],
  settings: DnsSettings = NO_DNS_SETTINGS,
  serviceNames: readonly ServiceName[] = [],
  /** Services a member announces unhealthy: it leaves their names (its liveness is applied on top). */
  unhealthyOf: (m: Member) => readonly string[] = () => []
): ZoneSpec {
  const members = [...state.members.values()].sort((a, b) => compareText(a.name, b.name))
  const nodes = members.map((m) => ({ name: m.name, addresses: memberIps(addressesOf(m)) })).filter((n) => n.addresses.length > 0)
  const full = members.filter((m) => m.role === 'full')
  // Before the node has the platform's state (while founding or joining), it names only itself.
  const nameServers = settings.nameServers.length > 0
    ? settings.nameServers.map((ns) => ({ name: `${ns.name}.`, addresses: [ns.ip] }))
    : (full.length > 0 ? full : [self]).map((m) => ({ name: m.name, addresses: memberIps(addressesOf(m)) })).filter((n) => n.addresses.length > 0)
  const weighted: WeightedNameSpec[] = serviceNames.map(({ name, service }) => ({
    name,
    subsetSize: settings.subsetSize,
    targets: full.map((m) => ({ id: m.peerId, addresses: memberIps(addressesOf(m)), weight: settings.weightOf(m.name), healthy: !unhealthyOf(m).includes(service) })).filter((t) => t.addresses.length > 0)
  })).filter((w) => w.targets.length > 0)
  const acme: AcmeChallengeSpec[] = [...state.acmeChallenges.values()].map((c) => ({ name: c.name, value: c.value, expiresAtMs: c.expiresAt }))
  // Without dns.rootA, the apex names every full member, as a weighted name of them all: a member
  // found dead leaves it as fast as it leaves the service names (static records would stay until
  // the member is removed from the platform).
  const apexTargets = (settings.rootA.length > 0 ? [] : full.length > 0 ? full : [self])
    .map((m) => ({ id: m.peerId, addresses: memberIps(addressesOf(m)), weight: 1, healthy: true }))
    .filter((t) => t.addresses.length > 0)
  const apex: WeightedNameSpec[] = apexTargets.length > 0 ? [{ name: '@', subsetSize: apexTargets.length, targets: apexTargets }] : []
  const records: StaticRecord[] = [
    ...settings.rootA.map((address): StaticRecord => ({ name: '@', type: address.includes(':') ? 'AAAA' : 'A', address })),
    ...settings.rootTxt.map((text): StaticRecord => ({ name: '@', type: 'TXT', text })),
    ...settings.mx.flatMap((mx): StaticRecord[] => [
      { name: '@', type: 'MX', preference: mx.priority, exchange: `${mx.name}.`, ...(mx.ttl ? { ttl: mx.ttl } : {}) },
      ...(mx.ip && inZone(mx.name, domain) ? [{ name: `${mx.name}.`, type: 'A' as const, address: mx.ip }] : [])
    ]),
    ...(settings.caaIssuer ? [{ name: '@', type: 'CAA' as const, tag: 'issue', value: settings.caaIssuer }] : []),
    ...pryvCustomEntriesToRecords(settings.customEntries, domain)
  ]
  // A name given static records in the settings is no longer a default weighted service name.
  const staticNames = new Set(records.map((r) => relativeName(r.name, domain)))
  const ttl = settings.ttl
  return {
    domain,
    serial: zoneSerial(state),
    nameServers,
    nodes,
    records,
    weighted: [...weighted.filter((w) => !staticNames.has(w.name)), ...apex],
    users: state.dnsUsers,
    acme,
    ttl: {
      ...(ttl ? { A: ttl, AAAA: ttl, CNAME: ttl, MX: ttl, TXT: ttl, CAA: ttl, SRV: ttl, NS: ttl, SOA: ttl, HINFO: ttl, user: ttl } : {}),
      weighted: settings.weightedTtl
    },
    ...(settings.aliasDomains.length > 0 ? { aliasDomains: [...settings.aliasDomains] } : {})
  }
}

/** The SOA serial of the zone at this state: the revision that last changed it (uint32). */
export function zoneSerial(state: PlatformState): number {
  return state.zoneRevision % 2 ** 32
}

/** The `dns.*` settings of the platform (replicated, so every node builds the same zone). */
export interface DnsSettings {
  readonly ttl?: number
  /** TTL of weighted names (service names, the apex without dns.rootA): short, apart from dns.ttl. */
  readonly weightedTtl: number
  readonly aliasDomains: readonly string[]
  readonly nameServers: ReadonlyArray<{ name: string, ip: string }>
  readonly rootA: readonly string[]
  readonly rootTxt: readonly string[]
  readonly mx: ReadonlyArray<{ name: string, ip?: string, priority: number, ttl?: number }>
  readonly caaIssuer?: string
  readonly customEntries: PryvCustomEntries
  readonly subsetSize?: number
  /** A node's weight in weighted answers (its machine override of `dns.weight`, else the platform's). */
  readonly weightOf: (node: string) => number
  /** Limits of the server itself (rate limiting, UDP size, TCP): applied without recompiling. */
  readonly limits: DnsLimits
}

export const DEFAULT_DNS_LIMITS: DnsLimits = {
  maxUdpPayload: DEFAULT_MAX_UDP_PAYLOAD,
  tcpIdleTimeoutMs: DEFAULT_TCP_IDLE_TIMEOUT_MS,
  tcpConnectionsPerSource: DEFAULT_TCP_CONNECTIONS_PER_SOURCE,
  rateLimit: DEFAULT_RATE_LIMIT
}

export const NO_DNS_SETTINGS: DnsSettings = {
  weightedTtl: DEFAULT_TTL.weighted,
  aliasDomains: [],
  nameServers: [],
  rootA: [],
  rootTxt: [],
  mx: [],
  customEntries: {},
  weightOf: () => 1,
  limits: DEFAULT_DNS_LIMITS
}

/**
 * Reads the `dns.*` keys of the platform's effective settings (values already validated against the
 * schema), with each node's own override of `dns.weight`.
 */
export function dnsSettings(values: Readonly<Record<string, unknown>>, machineOverrides: ReadonlyMap<string, Readonly<Record<string, unknown>>> = new Map()): DnsSettings {
  const platformWeight = (values['dns.weight'] as number | undefined) ?? 1
  return {
    subsetSize: values['dns.subsetSize'] as number | undefined,
    weightOf: (node) => (machineOverrides.get(node)?.['dns.weight'] as number | undefined) ?? platformWeight,
    ttl: values['dns.ttl'] as number | undefined,
    nameServers: (values['dns.nameServers'] as DnsSettings['nameServers'] | undefined) ?? [],
    rootA: (values['dns.rootA'] as string[] | undefined) ?? [],
    rootTxt: (values['dns.rootTxt'] as string[] | undefined) ?? [],
    mx: (values['dns.mx'] as DnsSettings['mx'] | undefined) ?? [],
    caaIssuer: (values['dns.caaIssuer'] as string | null | undefined) ?? undefined,
    customEntries: (values['dns.customEntries'] as PryvCustomEntries | undefined) ?? {},
    weightedTtl: (values['dns.weightedTtl'] as number | undefined) ?? DEFAULT_TTL.weighted,
    aliasDomains: (values['dns.aliasDomains'] as string[] | undefined) ?? [],
    limits: dnsLimits(values)
  }
}

function dnsLimits(values: Readonly<Record<string, unknown>>): DnsLimits {
  const n = (key: string, fallback: number): number => (values[key] as number | undefined) ?? fallback
  return {
    maxUdpPayload: n('dns.maxUdpPayload', DEFAULT_MAX_UDP_PAYLOAD),
    tcpIdleTimeoutMs: n('dns.tcpIdleTimeout', DEFAULT_TCP_IDLE_TIMEOUT_MS / 1000) * 1000,
    tcpConnectionsPerSource: n('dns.tcpConnectionsPerSource', DEFAULT_TCP_CONNECTIONS_PER_SOURCE),
    rateLimit: {
      ratePerSecond: n('dns.rateLimit', DEFAULT_RATE_LIMIT.ratePerSecond),
      slip: n('dns.rateLimitSlip', DEFAULT_RATE_LIMIT.slip),
      ipv4PrefixLength: n('dns.rateLimitIpv4Prefix', DEFAULT_RATE_LIMIT.ipv4PrefixLength),
      ipv6PrefixLength: n('dns.rateLimitIpv6Prefix', DEFAULT_RATE_LIMIT.ipv6PrefixLength),
      exempt: (values['dns.rateLimitExempt'] as string[] | undefined) ?? []
    }
  }
}

/** "www", "www.pryv.test." → "www"; the apex → "@". */
function relativeName(name: string, domain: string): string {
  const n = name.toLowerCase().replace(/\.$/, '')
  if (!name.endsWith('.')) return n
  return n === domain ? '@' : n.endsWith(`.${domain}`) ? n.slice(0, -domain.length - 1) : n
}

function inZone(name: string, domain: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '')
  return n === domain || n.endsWith(`.${domain}`)
}
