/** What a member says about itself in each heartbeat. */
export interface Heartbeat {
  readonly name: string
  readonly addresses: readonly string[]
  /** Revision of the platform log this member has applied. */
  readonly revision: number
  /** Services of the release this member runs that are not healthy (DNS leaves them out of their names). */
  readonly unhealthy?: readonly string[]
  /** Where this member's join endpoint listens (invites made by other members name it). */
  readonly joinAddresses?: readonly string[]
  /** The member's pryv-node version and its wall clock (ms since the epoch) when it sent this. */
  readonly version?: string
  readonly clock?: number
}

export interface LivenessView {
  readonly alive: boolean
  /** Milliseconds since the last heartbeat; undefined if never heard. */
  readonly lastSeenAgoMs?: number
  readonly lastHeartbeat?: Heartbeat
}

/**
 * Who is alive, from gossiped heartbeats. Pure: the caller passes the time (a monotonic clock), so
 * tests never sleep. A member is alive if heard from within `deadAfterMs`.
 */
export class LivenessTracker {
  private readonly seen = new Map<string, { at: number, heartbeat: Heartbeat }>()

  constructor(private readonly deadAfterMs: number) {}

  heard(peerId: string, heartbeat: Heartbeat, now: number): void {
    this.seen.set(peerId, { at: now, heartbeat })
  }

  forget(peerId: string): void {
    this.seen.delete(peerId)
  }

  view(peerId: string, now: number): LivenessView {
    const s = this.seen.get(peerId)
    if (!s) return { alive: false }
    const ago = now - s.at
    return { alive: ago <= this.deadAfterMs, lastSeenAgoMs: ago, lastHeartbeat: s.heartbeat }
  }
}

export function parseHeartbeat(raw: unknown): Heartbeat | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (typeof r.name !== 'string' || r.name.length > 63) return undefined
  if (!isAddressList(r.addresses)) return undefined
  if (!Number.isSafeInteger(r.revision) || (r.revision as number) < 0) return undefined
  if (r.unhealthy !== undefined && !(Array.isArray(r.unhealthy) && r.unhealthy.length <= 64 && r.unhealthy.every((s) => typeof s === 'string' && s.length <= 64))) return undefined
  if (r.joinAddresses !== undefined && !isAddressList(r.joinAddresses)) return undefined
  if (r.version !== undefined && !(typeof r.version === 'string' && r.version.length <= 64)) return undefined
  if (r.clock !== undefined && !Number.isSafeInteger(r.clock)) return undefined
  return {
    name: r.name,
    addresses: r.addresses as string[],
    revision: r.revision as number,
    ...(r.unhealthy ? { unhealthy: r.unhealthy as string[] } : {}),
    ...(r.joinAddresses ? { joinAddresses: r.joinAddresses as string[] } : {}),
    ...(r.version !== undefined ? { version: r.version as string } : {}),
    ...(r.clock !== undefined ? { clock: r.clock as number } : {})
  }
}

function isAddressList(value: unknown): boolean {
  return Array.isArray(value) && value.length <= 32 && value.every((a) => typeof a === 'string' && a.length < 256)
}
