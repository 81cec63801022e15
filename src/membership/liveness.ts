import type { Heartbeat, LivenessReport, LivenessView, ReportEntry } from '../mesh/liveness.js'
import { LIVENESS_FORMAT } from '../mesh/liveness.js'

/**
 * Liveness at constant cost per node: the pure core (decisions from inputs and a passed-in clock; no
 * I/O). The driver is src/node/membership.ts; the seeded simulation is ./liveness-sim.ts.
 *
 * The protocol:
 * - every member sends a heartbeat every `heartbeatMs` straight to each full member (≤ 7 writers, a
 *   few more with learners), on a stream of the existing connection; the full member answers each one
 *   with its own heartbeat. So every node hears every full member directly, and full members hear
 *   everyone: no signatures (noise authenticates the peer), O(full members) messages per observer.
 * - a full member publishes on gossip a signed report of its own direct view when something in it
 *   changes (a member up or down, its unhealthy services, addresses, join addresses or version), at
 *   most once per check, and a digest of its whole view every `digestEveryMs(members)` (5 s, longer on
 *   large platforms, so that its bytes per second stay flat): late joiners and lost reports catch up,
 *   revisions and clocks are refreshed. Signature checks per node: (full members) × (reports/s).
 *
 * The rules a node applies to decide that member X is alive:
 * 1. heard from X directly within `deadAfterMs` (time this node itself was stalled does not count).
 *    Where heartbeats flow between the two (X is a full member, or this node is one), this decides
 *    once X has been heard at all, with one grace: while a full member whose claims stand (rule 2)
 *    still says X is up, X gets one more heartbeat period (a few heartbeats lost between this node
 *    and X are not a death). So a crashed full member leaves every node's DNS answers at most
 *    deadAfterMs + one heartbeat period after its last heartbeat, whatever reports are late or lost,
 *    and a node does not count for long on a member that it cannot reach itself. (A heartbeat not
 *    answered within half a period is sent again, so that lost messages rarely add up to a death.)
 * 2. otherwise (an observer seen by an observer, or a member never heard yet), a full member R that
 *    this node hears directly (R alive by rule 1) last reported X up: R's claim stands until R
 *    reports otherwise, since R reports every change it sees (each change is sent three times);
 * 3. when no full member is heard directly (the only full member died, or this node is cut off from
 *    all of them), the last reports stand as they were: losing every reporter tells nothing about the
 *    other members, so they are not all declared dead at once. A full member that is itself silent is
 *    dead by rule 1 (and by its peers' reports).
 * A reporter's first report after it starts (or becomes a full member) is a digest sent once it has
 *   listened for `deadAfterMs`, so a restarted reporter never wipes what others knew with an empty view.
 * There is no leader in any of this: each full member reports on its own, so a leaderless writer set
 * changes nothing, and X stays alive while any full member that is up still hears it.
 */
export interface LivenessTimings {
  /** How often a member sends its heartbeat to each full member. */
  readonly heartbeatMs: number
  /** A member not heard for this long is down. */
  readonly deadAfterMs: number
}

export interface RosterMember {
  readonly peerId: string
  readonly full: boolean
}

/** Digest period for a platform of `members`: 5 s, then 20 ms per member (so bytes/s stay flat), at most 30 s. */
export function digestEveryMs(members: number): number {
  return Math.min(30_000, Math.max(5000, members * 20))
}

interface Heard {
  readonly at: number
  readonly heartbeat: Heartbeat
  readonly clockOffsetMs?: number
}

interface Claim {
  readonly up: boolean
  /** When the reporter last heard the member, on this node's monotonic clock. */
  readonly heardAt: number
  readonly heartbeat?: Heartbeat
  /** The member's clock against this node's. */
  readonly clockOffsetMs?: number
}

interface ReporterState {
  readonly boot: number
  readonly seq: number
  readonly claims: Map<string, Claim>
}

/** How many times a change is reported: when seen, then every half heartbeat period (memberlist retransmits updates likewise). */
const REPEATS = 3

/** Stalls (this node's event loop blocked) older than this no longer matter to anyone's deadline. */
const STALL_MEMORY_MS = 60_000
const MAX_STALLS = 32

export class LivenessCore {
  private self = ''
  private readonly full = new Set<string>()
  private readonly members = new Set<string>()
  private readonly heard = new Map<string, Heard>()
  private readonly reporters = new Map<string, ReporterState>()
  private readonly stalls: Array<{ readonly start: number, readonly end: number }> = []
  // As a reporter (a full member).
  private fullSince?: number
  private lastDigestAt?: number
  private seq = 0
  private readonly published = new Map<string, string>()
  /**
   * Changes reported lately, sent again in later reports (digests included do not end this): with
   * "alive if any full member says so", one lost report would otherwise keep a dead member alive
   * for a whole digest period at the node that lost it.
   */
  private readonly repeats = new Map<string, { count: number, lastAt: number }>()

  constructor(readonly timings: LivenessTimings, private readonly boot: number) {}

  /** The members, and which are full (reporters, receivers of heartbeats); `self` is this node. */
  setRoster(self: string, members: readonly RosterMember[], now: number): void {
    this.self = self
    this.members.clear()
    this.full.clear()
    for (const m of members) {
      this.members.add(m.peerId)
      if (m.full) this.full.add(m.peerId)
    }
    for (const id of [...this.heard.keys()]) if (!this.members.has(id)) this.heard.delete(id)
    for (const id of [...this.reporters.keys()]) if (!this.full.has(id)) this.reporters.delete(id)
    for (const id of [...this.published.keys()]) if (!this.members.has(id)) this.published.delete(id)
    if (this.full.has(self)) this.fullSince ??= now
    else {
      this.fullSince = undefined
      this.lastDigestAt = undefined
      this.published.clear()
    }
  }

  /** Full members other than this node: whom to send heartbeats to. */
  fullMembers(): string[] {
    return [...this.full].filter((id) => id !== this.self)
  }

  isFull(peerId: string): boolean {
    return this.full.has(peerId)
  }

  /** A heartbeat heard straight from `peerId` (a frame, or a reply to ours). */
  heardDirectly(peerId: string, heartbeat: Heartbeat, now: number, clockOffsetMs?: number): void {
    if (peerId === this.self || !this.members.has(peerId)) return
    const before = this.heard.get(peerId)
    this.heard.set(peerId, { at: now, heartbeat, clockOffsetMs: clockOffsetMs ?? before?.clockOffsetMs })
  }

  /** When `peerId` was last heard directly (this node's monotonic clock). */
  lastHeardAt(peerId: string): number | undefined {
    return this.heard.get(peerId)?.at
  }

  /** This node's event loop could not run for `durationMs` until `now`: that time counts against nobody. */
  stalled(now: number, durationMs: number): void {
    this.stalls.push({ start: now - durationMs, end: now })
    while (this.stalls.length > MAX_STALLS || (this.stalls[0] && this.stalls[0].end < now - STALL_MEMORY_MS)) this.stalls.shift()
  }

  forget(peerId: string): void {
    this.heard.delete(peerId)
    this.reporters.delete(peerId)
    this.published.delete(peerId)
    for (const r of this.reporters.values()) r.claims.delete(peerId)
  }

  /**
   * A report from full member `reporter` (its gossip signature already checked). `wallNow`: this
   * node's wall clock, to carry clock offsets over. Returns whether it was taken (false: not a full
   * member, or older than one already taken).
   */
  receiveReport(reporter: string, report: LivenessReport, now: number, wallNow: number): boolean {
    if (reporter === this.self || !this.full.has(reporter)) return false
    const known = this.reporters.get(reporter)
    if (known && (report.boot < known.boot || (report.boot === known.boot && report.seq <= known.seq))) return false
    const claims = report.digest || !known || known.boot !== report.boot ? new Map<string, Claim>() : known.claims
    const shift = report.clock - wallNow
    for (const e of report.entries) {
      if (e.peerId === this.self || e.peerId === reporter) continue
      const before = known?.claims.get(e.peerId)
      claims.set(e.peerId, {
        up: e.up,
        heardAt: now - e.agoMs,
        heartbeat: mergeHeartbeat(e.heartbeat, before?.heartbeat),
        clockOffsetMs: e.clockOffsetMs === undefined ? before?.clockOffsetMs : e.clockOffsetMs + shift
      })
    }
    this.reporters.set(reporter, { boot: report.boot, seq: report.seq, claims })
    return true
  }

  view(peerId: string, now: number): LivenessView {
    const direct = this.heard.get(peerId)
    if (direct && (this.full.has(peerId) || this.full.has(this.self))) {
      const age = this.age(direct.at, now)
      const alive = age <= this.timings.deadAfterMs || (age <= this.timings.deadAfterMs + this.timings.heartbeatMs && this.claimedUp(peerId, now))
      return { alive, lastSeenAgoMs: Math.max(0, now - direct.at), lastHeartbeat: direct.heartbeat }
    }
    let alive = direct !== undefined && this.directlyAlive(direct, now)
    let seen = direct ? now - direct.at : undefined
    let latest: { at: number, heartbeat: Heartbeat } | undefined = direct ? { at: direct.at, heartbeat: direct.heartbeat } : undefined
    const usable = this.usableReporters(now)
    for (const [reporter, state] of this.reporters) {
      if (reporter === peerId) continue
      const claim = state.claims.get(peerId)
      if (!claim) continue
      const standing = usable.has(reporter) && claim.up
      if (standing) alive = true
      // A standing claim says "heard within deadAfterMs, as of now".
      const ago = standing ? Math.min(now - claim.heardAt, this.timings.deadAfterMs) : now - claim.heardAt
      seen = seen === undefined ? ago : Math.min(seen, ago)
      if (claim.heartbeat && (!latest || claim.heardAt > latest.at)) latest = { at: claim.heardAt, heartbeat: mergeHeartbeat(claim.heartbeat, latest?.heartbeat)! }
    }
    return { alive, ...(seen !== undefined ? { lastSeenAgoMs: Math.max(0, seen) } : {}), ...(latest ? { lastHeartbeat: latest.heartbeat } : {}) }
  }

  /** Whether a full member whose claims stand (rules 2 and 3) last reported `peerId` up. */
  private claimedUp(peerId: string, now: number): boolean {
    const usable = this.usableReporters(now)
    for (const [reporter, state] of this.reporters) {
      if (reporter !== peerId && usable.has(reporter) && state.claims.get(peerId)?.up) return true
    }
    return false
  }

  /** The member's clock against this node's: measured directly when it is heard directly, else as reported. */
  clockOffsetMs(peerId: string, now: number): number | undefined {
    const direct = this.heard.get(peerId)
    if (direct && direct.clockOffsetMs !== undefined && this.directlyAlive(direct, now)) return direct.clockOffsetMs
    let best: Claim | undefined
    for (const [reporter, state] of this.reporters) {
      const claim = reporter === peerId ? undefined : state.claims.get(peerId)
      if (claim?.clockOffsetMs !== undefined && (!best || claim.heardAt > best.heardAt)) best = claim
    }
    return best?.clockOffsetMs ?? direct?.clockOffsetMs
  }

  /**
   * As a full member: the report to publish now, if any (call it a few times per heartbeat period).
   * `wallNow` is stamped on it. Undefined when this node is not a full member, is still listening
   * after becoming one, or has nothing new to say.
   */
  nextReport(now: number, wallNow: number): LivenessReport | undefined {
    if (this.fullSince === undefined || now - this.fullSince < this.timings.deadAfterMs) return undefined
    const current = new Map<string, { entry: ReportEntry, signature: string }>()
    for (const id of this.members) {
      if (id === this.self) continue
      const h = this.heard.get(id)
      if (!h) continue
      const up = this.directlyAlive(h, now)
      const hb = h.heartbeat
      const signature = up ? JSON.stringify([hb.unhealthy ?? [], hb.version ?? '', hb.addresses, hb.joinAddresses ?? []]) : 'down'
      current.set(id, { signature, entry: { peerId: id, up, agoMs: Math.max(0, Math.round(now - h.at)), heartbeat: withoutClock(hb), ...(h.clockOffsetMs !== undefined ? { clockOffsetMs: Math.round(h.clockOffsetMs) } : {}) } })
    }
    // The first report after listening is a digest of everything: nothing in it is repeated.
    const first = this.lastDigestAt === undefined
    const changes: ReportEntry[] = []
    for (const [id, c] of current) {
      const before = this.published.get(id) ?? 'down'
      const repeat = this.repeats.get(id)
      if (before !== c.signature) {
        this.published.set(id, c.signature)
        if (!first) this.repeats.set(id, { count: REPEATS - 1, lastAt: now })
        changes.push(c.entry)
      } else if (repeat && now - repeat.lastAt >= this.timings.heartbeatMs / 2) {
        if (--repeat.count <= 0) this.repeats.delete(id)
        else repeat.lastAt = now
        changes.push(c.entry)
      }
    }
    if (first || now - this.lastDigestAt! >= digestEveryMs(this.members.size)) {
      this.lastDigestAt = now
      // A digest names only the members up, without their addresses (changes carry those). A change
      // it carries is still repeated in the reports that follow, like any other.
      const entries = [...current.values()].filter((c) => c.entry.up).map((c) => ({ ...c.entry, heartbeat: digestHeartbeat(c.entry.heartbeat!) }))
      return this.report(true, wallNow, entries)
    }
    return changes.length > 0 ? this.report(false, wallNow, changes) : undefined
  }

  private report(digest: boolean, wallNow: number, entries: ReportEntry[]): LivenessReport {
    return { v: LIVENESS_FORMAT, boot: this.boot, seq: ++this.seq, digest, clock: Math.round(wallNow), entries }
  }

  private directlyAlive(h: Heard, now: number): boolean {
    return this.age(h.at, now) <= this.timings.deadAfterMs
  }

  /** Time since `at`, less the time this node was stalled in between. */
  private age(at: number, now: number): number {
    let stalled = 0
    for (const s of this.stalls) stalled += Math.max(0, Math.min(s.end, now) - Math.max(s.start, at))
    return now - at - stalled
  }

  /** Reporters whose claims stand: those heard directly, or all of them when none is (rule 3). */
  private usableReporters(now: number): ReadonlySet<string> {
    const heardFull = [...this.full].filter((id) => id !== this.self && this.heard.has(id) && this.directlyAlive(this.heard.get(id)!, now))
    if (heardFull.length === 0) return new Set(this.reporters.keys())
    return new Set(heardFull.filter((id) => this.reporters.has(id)))
  }
}

function withoutClock(hb: Heartbeat): Heartbeat {
  const { clock: _clock, ...rest } = hb
  return rest
}

/** What a digest says of a member: no addresses (they change rarely, and changes carry them). */
function digestHeartbeat(hb: Heartbeat): Heartbeat {
  return { name: hb.name, addresses: [], revision: hb.revision, ...(hb.unhealthy ? { unhealthy: hb.unhealthy } : {}), ...(hb.version !== undefined ? { version: hb.version } : {}) }
}

/** A heartbeat from a digest has no addresses: keep those known from before. */
function mergeHeartbeat(next: Heartbeat | undefined, before: Heartbeat | undefined): Heartbeat | undefined {
  if (!next) return before
  if (next.addresses.length > 0 || !before) return next
  return { ...next, addresses: before.addresses, ...(before.joinAddresses ? { joinAddresses: before.joinAddresses } : {}) }
}
