import { createHash } from 'node:crypto'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { decodeJson, encodeJson } from '../mesh/json.js'
import { type Heartbeat, LivenessTracker, type LivenessView, parseHeartbeat } from '../mesh/liveness.js'
import type { Member } from '../state/types.js'
import { packageVersion } from '../version.js'
import { type NodeContext, ownAddresses, topics } from './context.js'

export interface MembershipTimings {
  /** How often this node publishes a heartbeat. */
  readonly heartbeatMs: number
  /** A member not heard from for this long is shown as down. */
  readonly deadAfterMs: number
  /** How long a connected peer that is not a member may stay (time to complete a join). */
  readonly strangerGraceMs: number
  /** How often connections to members are checked and re-dialled. */
  readonly connectEveryMs: number
}

/** Test hook: this node's heartbeats claim a wall clock this far ahead (doctor's clock check). */
const TEST_CLOCK_SKEW_MS = Number(process.env.PRYV_TEST_CLOCK_SKEW_MS ?? 0) || 0

export const defaultTimings: MembershipTimings = { heartbeatMs: 1000, deadAfterMs: 4000, strangerGraceMs: 15_000, connectEveryMs: 2000 }

/**
 * Keeps the mesh made of members only, fully connected, and knows who is alive:
 * publishes heartbeats, tracks everyone's, dials members it is not connected to (addresses come
 * from the replicated member list and from heartbeats, so no single bootstrap node is needed),
 * and disconnects peers that are not members once their grace period to join has passed.
 */
export class Membership {
  readonly liveness: LivenessTracker
  private readonly topic: string
  private readonly timers: NodeJS.Timeout[] = []
  private readonly nextDialAt = new Map<string, { at: number, backoffMs: number }>()

  constructor(private readonly ctx: NodeContext, private readonly timings: MembershipTimings = defaultTimings) {
    this.liveness = new LivenessTracker(timings.deadAfterMs)
    this.topic = topics.heartbeat(ctx.config.platformId)
  }

  start(): void {
    const pubsub = this.ctx.mesh.services.pubsub
    pubsub.topicValidators.set(this.topic, (_from, msg) => {
      if (msg.type !== 'signed' || !this.ctx.replica.state.members.has(msg.from.toString())) return TopicValidatorResult.Reject
      return parseHeartbeat(decodeJson(msg.data)) ? TopicValidatorResult.Accept : TopicValidatorResult.Reject
    })
    pubsub.subscribe(this.topic)
    pubsub.addEventListener('message', (evt) => {
      const msg = evt.detail
      if (msg.topic !== this.topic || msg.type !== 'signed') return
      const hb = parseHeartbeat(decodeJson(msg.data))
      if (hb) this.heard(msg.from.toString(), hb)
    })
    // A member that just connected learns at once that this node is up, instead of a heartbeat later.
    this.ctx.mesh.addEventListener('peer:connect', (evt) => {
      if (this.ctx.replica.state.members.has(evt.detail.toString())) setTimeout(() => this.publishHeartbeat(), 100).unref()
    })
    this.ctx.replica.on('applied', (_entry, command) => {
      if (command.kind === 'member.join' || command.kind === 'platform.create') void this.connectMembers()
      if (command.kind === 'member.remove') {
        this.liveness.forget(command.peerId)
        this.clockOffsets.delete(command.peerId)
      }
    })
    this.ctx.replica.on('installed', () => void this.connectMembers())
    this.timers.push(setInterval(() => this.publishHeartbeat(), this.timings.heartbeatMs))
    this.timers.push(setInterval(() => {
      this.dropStrangers()
      void this.connectMembers()
    }, this.timings.connectEveryMs))
    for (const t of this.timers) t.unref()
    void this.connectMembers()
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t)
    this.timers.length = 0
  }

  view(peerId: string): LivenessView {
    if (peerId === this.ctx.selfId) {
      return { alive: true, lastSeenAgoMs: 0, lastHeartbeat: this.ownHeartbeat() }
    }
    return this.liveness.view(peerId, this.ctx.monotonic())
  }

  private ownHeartbeat(): Heartbeat {
    const unhealthy = this.unhealthyServices?.() ?? []
    const joinAddresses = this.joinAddresses?.() ?? []
    return { name: this.ctx.config.name, addresses: ownAddresses(this.ctx.mesh), revision: this.ctx.replica.revision, ...(unhealthy.length > 0 ? { unhealthy } : {}), ...(joinAddresses.length > 0 ? { joinAddresses } : {}), version: packageVersion(), clock: Date.now() + TEST_CLOCK_SKEW_MS }
  }

  /** Set by the node: where its join endpoint listens, announced so that any member's invites name it. */
  joinAddresses?: () => readonly string[]

  /**
   * How far a member's wall clock is ahead of this node's (ms; negative: behind), from its last
   * heartbeat: one-way, so it includes the gossip delay (milliseconds on a healthy mesh).
   */
  clockOffsetMs(peerId: string): number | undefined {
    return this.clockOffsets.get(peerId)
  }

  private readonly clockOffsets = new Map<string, number>()

  /** Set by the node: this node's services that are not healthy, announced in its heartbeats. */
  unhealthyServices?: () => readonly string[]

  private publishHeartbeat(): void {
    if (!this.ctx.replica.state.members.has(this.ctx.selfId)) return
    const data = encodeJson(this.ownHeartbeat())
    this.ctx.mesh.services.pubsub.publish(this.topic, data).catch(() => undefined)
  }

  private heard(peerId: string, hb: Heartbeat): void {
    const before = this.liveness.view(peerId, this.ctx.monotonic())
    this.liveness.heard(peerId, hb, this.ctx.monotonic())
    if (hb.clock !== undefined) this.clockOffsets.set(peerId, hb.clock - Date.now())
    if (!before.alive) this.ctx.log.info({ member: hb.name, peerId }, 'member is up')
    if (hb.revision > this.ctx.replica.revision) this.onBehind?.(peerId, hb.revision)
    void this.remember(peerId, hb.addresses)
  }

  /** Set by the node: called when dialling a member failed. */
  onDialFailed?: (peerId: string, err: unknown) => void

  /** Set by the node: called when a member reports a newer revision than ours. */
  onBehind?: (peerId: string, revision: number) => void

  private async remember(peerId: string, addresses: readonly string[]): Promise<void> {
    try {
      await this.ctx.mesh.peerStore.merge(peerIdFromString(peerId), { multiaddrs: addresses.map((a) => multiaddr(a)) })
    } catch (err) {
      this.ctx.log.debug({ peerId, err: (err as Error).message }, 'ignoring unusable addresses')
    }
  }

  /** Dials the members this node keeps connections to (see meshNeighbours), with per-member exponential backoff. */
  async connectMembers(): Promise<void> {
    const now = this.ctx.monotonic()
    for (const member of meshNeighbours(this.ctx.selfId, [...this.ctx.replica.state.members.values()])) {
      const peerId = peerIdFromString(member.peerId)
      if (this.ctx.mesh.getConnections(peerId).length > 0) {
        this.nextDialAt.delete(member.peerId)
        continue
      }
      const plan = this.nextDialAt.get(member.peerId)
      if (plan && plan.at > now) continue
      await this.remember(member.peerId, member.addresses)
      const backoffMs = Math.min((plan?.backoffMs ?? 500) * 2, 30_000)
      this.nextDialAt.set(member.peerId, { at: now + backoffMs, backoffMs })
      this.ctx.mesh.dial(peerId, { signal: AbortSignal.timeout(5000) }).then(
        () => this.nextDialAt.delete(member.peerId),
        (err) => {
          this.ctx.log.debug({ member: member.name, err: err.message }, 'member not reachable')
          this.onDialFailed?.(member.peerId, err)
        }
      )
    }
  }

  private dropStrangers(): void {
    const members = this.ctx.replica.state.members
    if (members.size === 0) return
    const now = Date.now()
    for (const conn of this.ctx.mesh.getConnections()) {
      if (members.has(conn.remotePeer.toString())) continue
      if (now - conn.timeline.open > this.timings.strangerGraceMs) {
        this.ctx.log.info({ peerId: conn.remotePeer.toString() }, 'disconnecting a peer that is not a member')
        conn.close().catch(() => undefined)
      }
    }
  }
}


/** Observers connected to each observer besides the full members: enough for gossip (D = 6). */
export const OBSERVER_NEIGHBOURS = 8

/**
 * Whom a node keeps a connection to. Full members connect to every member; an observer connects to
 * the full members (its writes go there) and to a few other observers, chosen by a hash of both ids,
 * so that the number of connections stays linear in the size of the platform while gossip still
 * reaches everyone. Every node computes the same choice, so the links are stable across restarts.
 */
export function meshNeighbours(self: string, members: readonly Member[]): Member[] {
  const others = members.filter((m) => m.peerId !== self)
  const me = members.find((m) => m.peerId === self)
  if (!me || me.role === 'full') return others
  const observers = others.filter((m) => m.role !== 'full')
    .map((m) => ({ m, rank: createHash('sha256').update([self, m.peerId].sort().join('|')).digest('hex') }))
    .sort((a, b) => a.rank.localeCompare(b.rank))
    .slice(0, OBSERVER_NEIGHBOURS)
    .map((x) => x.m)
  return [...others.filter((m) => m.role === 'full'), ...observers]
}
