import type { AcmeChallengeSpec, WeightedNameSpec, ZoneSpec } from '../dns/zone-spec.js'
import type { Member, PlatformState } from '../state/types.js'

/**
 * Service names every platform answers, each spread over the full members by weight, until
 * releases define which nodes run which service.
 */
export const DEFAULT_SERVICE_NAMES = ['reg', 'sw', 'access', 'mfa', 'mail'] as const

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
export function zoneFromState(domain: string, state: PlatformState, self: Member, addressesOf: (m: Member) => readonly string[]): ZoneSpec {
  const members = [...state.members.values()].sort((a, b) => a.name.localeCompare(b.name))
  const nodes = members.map((m) => ({ name: m.name, addresses: memberIps(addressesOf(m)) })).filter((n) => n.addresses.length > 0)
  const full = members.filter((m) => m.role === 'full')
  // Before the node has the platform's state (while founding or joining), it names only itself.
  const nameServers = (full.length > 0 ? full : [self]).map((m) => ({ name: m.name, addresses: memberIps(addressesOf(m)) })).filter((n) => n.addresses.length > 0)
  const weighted: WeightedNameSpec[] = DEFAULT_SERVICE_NAMES.map((name) => ({
    name,
    targets: full.map((m) => ({ id: m.peerId, addresses: memberIps(addressesOf(m)), weight: 1, healthy: true })).filter((t) => t.addresses.length > 0)
  })).filter((w) => w.targets.length > 0)
  const acme: AcmeChallengeSpec[] = [...state.acmeChallenges.values()].map((c) => ({ name: c.name, value: c.value, expiresAtMs: c.expiresAt }))
  return {
    domain,
    serial: state.revision % 2 ** 32,
    nameServers,
    nodes,
    weighted,
    users: state.dnsUsers,
    acme
  }
}
