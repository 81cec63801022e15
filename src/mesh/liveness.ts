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
  /** Milliseconds since the member was last heard (by this node, or by a full member that reported it); undefined if never. */
  readonly lastSeenAgoMs?: number
  readonly lastHeartbeat?: Heartbeat
}

/** The stream protocol carrying heartbeats to full members (and their replies), one frame each. */
export const LIVENESS_PROTOCOL = '/pryv/liveness/1.0.0'

/** Version of the frames and reports below: a receiver drops a version it does not know. */
export const LIVENESS_FORMAT = 1

/**
 * One frame on the liveness stream. Unsigned: the noise channel authenticates the peer, and the
 * receiver checks that the peer is a member and that `heartbeat.name` is that member's name.
 * A reply echoes the clock of the frame it answers, so the sender measures the clock offset over
 * the round trip.
 */
export interface HeartbeatFrame {
  readonly v: typeof LIVENESS_FORMAT
  readonly heartbeat: Heartbeat
  readonly echo?: number
}

/** What a full member says about one member it hears directly. */
export interface ReportEntry {
  readonly peerId: string
  readonly up: boolean
  /** How long before the report the reporter last heard it. */
  readonly agoMs: number
  /** The member's heartbeat as last heard: whole in a change report, without addresses in a digest. */
  readonly heartbeat?: Heartbeat
  /** The member's clock against the reporter's (ms; positive: ahead). */
  readonly clockOffsetMs?: number
}

/**
 * A full member's liveness report, published on gossip (signed by gossipsub): the members whose state
 * changed in its own view (`digest: false`), or its whole view (`digest: true`: every member it
 * hears; one it leaves out is not up as far as it knows). `boot` and `seq` order a reporter's reports.
 */
export interface LivenessReport {
  readonly v: typeof LIVENESS_FORMAT
  readonly boot: number
  readonly seq: number
  readonly digest: boolean
  /** The reporter's wall clock when it published. */
  readonly clock: number
  /** The revision the reporter has applied (a node behind it catches up). */
  readonly revision?: number
  readonly entries: readonly ReportEntry[]
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

export function parseHeartbeatFrame(raw: unknown): HeartbeatFrame | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (r.v !== LIVENESS_FORMAT) return undefined
  const heartbeat = parseHeartbeat(r.heartbeat)
  if (!heartbeat) return undefined
  if (r.echo !== undefined && !Number.isSafeInteger(r.echo)) return undefined
  return { v: LIVENESS_FORMAT, heartbeat, ...(r.echo !== undefined ? { echo: r.echo as number } : {}) }
}

/** Entries a report may hold: a platform's members, with room. */
const MAX_REPORT_ENTRIES = 10_000

export function parseReport(raw: unknown): LivenessReport | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (r.v !== LIVENESS_FORMAT || typeof r.digest !== 'boolean') return undefined
  if (!Number.isSafeInteger(r.boot) || !Number.isSafeInteger(r.seq) || !Number.isSafeInteger(r.clock)) return undefined
  if (!Array.isArray(r.entries) || r.entries.length > MAX_REPORT_ENTRIES) return undefined
  const entries: ReportEntry[] = []
  for (const e of r.entries as unknown[]) {
    const entry = parseEntry(e)
    if (!entry) return undefined
    entries.push(entry)
  }
  if (r.revision !== undefined && !(Number.isSafeInteger(r.revision) && (r.revision as number) >= 0)) return undefined
  return { v: LIVENESS_FORMAT, boot: r.boot as number, seq: r.seq as number, digest: r.digest, clock: r.clock as number, ...(r.revision !== undefined ? { revision: r.revision as number } : {}), entries }
}

function parseEntry(raw: unknown): ReportEntry | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const e = raw as Record<string, unknown>
  if (typeof e.peerId !== 'string' || e.peerId.length > 128 || typeof e.up !== 'boolean') return undefined
  if (!Number.isSafeInteger(e.agoMs) || (e.agoMs as number) < 0) return undefined
  if (e.clockOffsetMs !== undefined && !Number.isSafeInteger(e.clockOffsetMs)) return undefined
  const heartbeat = e.heartbeat === undefined ? undefined : parseHeartbeat(e.heartbeat)
  if (e.heartbeat !== undefined && !heartbeat) return undefined
  return {
    peerId: e.peerId,
    up: e.up,
    agoMs: e.agoMs as number,
    ...(heartbeat ? { heartbeat } : {}),
    ...(e.clockOffsetMs !== undefined ? { clockOffsetMs: e.clockOffsetMs as number } : {})
  }
}

function isAddressList(value: unknown): boolean {
  return Array.isArray(value) && value.length <= 32 && value.every((a) => typeof a === 'string' && a.length < 256)
}
