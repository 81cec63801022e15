import { createHash } from 'node:crypto'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { AddressBook } from '../membership/address-book.js'
import { LivenessCore } from '../membership/liveness.js'
import { isDialable, MAX_MEMBER_ADDRESSES } from '../mesh/addresses.js'
import { decodeJson, encodeJson } from '../mesh/json.js'
import { type Heartbeat, LIVENESS_FORMAT, LIVENESS_PROTOCOL, type LivenessView, parseHeartbeatFrame, parseReport } from '../mesh/liveness.js'
import type { Member } from '../state/types.js'
import { packageVersion } from '../version.js'
import { AddressExchange } from './address-exchange.js'
import { type NodeContext, ownAddresses, topics } from './context.js'

export interface MembershipTimings {
  /** How often this node sends its heartbeat to each full member. */
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
/** Test hook: SIGUSR2 blocks this node's event loop for this long (a busy machine, test/node/liveness.test.ts). */
const TEST_STALL_MS = Number(process.env.PRYV_TEST_STALL_ON_SIGUSR2_MS ?? 0) || 0

export const defaultTimings: MembershipTimings = { heartbeatMs: 1000, deadAfterMs: 4000, strangerGraceMs: 15_000, connectEveryMs: 2000 }

/** How often a full member looks for changes to report, and this node checks that its event loop keeps time. */
const CHECK_EVERY_MS = 250
/**
 * A check this late means the event loop was blocked (a stall); that time counts against no member.
 * Shorter delays (a loaded machine) are covered by deadAfterMs being four heartbeats, and counting
 * them would only slow the detection of real deaths.
 */
const STALL_AFTER_MS = 1000
const MAX_FRAME_BYTES = 64 * 1024
/** No member reached for this long: the node says it is stranded (log, status). */
const STRANDED_AFTER_MS = 10_000
/**
 * While a member this node should reach does not answer, another member is asked where the members
 * are: after this long, then twice as long each time up to ASK_ADDRESSES_AT_MOST_EVERY_MS (a member
 * down for good costs little), and this long again once the members reached change.
 */
const ASK_ADDRESSES_EVERY_MS = 5000
const ASK_ADDRESSES_AT_MOST_EVERY_MS = 5 * 60_000

/** Counters of the liveness traffic (status, benchmarks). */
export interface LivenessCounters {
  framesSent: number
  framesReceived: number
  reportsPublished: number
  reportsReceived: number
}

/**
 * Keeps the mesh made of members only, fully connected, and knows who is alive (the protocol and its
 * rules: src/membership/liveness.ts): sends heartbeats straight to the full members and answers
 * those it receives when it is one, publishes liveness reports when it is a full member, dials
 * members it is not connected to (addresses come from the replicated member list and from
 * heartbeats, so no single bootstrap node is needed), and disconnects peers that are not members
 * once their grace period to join has passed.
 */
export class Membership {
  readonly liveness: LivenessCore
  /** Where each member last said it listens (heartbeats, reports, the address exchange). */
  readonly addressBook = new AddressBook()
  private readonly exchange: AddressExchange
  readonly counters: LivenessCounters = { framesSent: 0, framesReceived: 0, reportsPublished: 0, reportsReceived: 0 }
  private readonly topic: string
  private readonly timers: NodeJS.Timeout[] = []
  private heartbeatTimer?: NodeJS.Timeout
  private readonly nextDialAt = new Map<string, { at: number, backoffMs: number }>()
  private readonly outbound = new Map<string, Promise<LengthPrefixedStream<Stream> | undefined>>()
  /** When each outbound stream was opened: one that brings no answer for deadAfterMs is opened anew. */
  private readonly openedAt = new Map<string, number>()
  private readonly inbound = new Set<Stream>()
  private stopped = false
  private lastCheckAt = 0
  private lastStallWarnAt = Number.NEGATIVE_INFINITY
  /** When a member this node connects to was last connected (monotonic), and whether that is too long ago. */
  private lastReachedAt = 0
  private strandedSince?: number
  private lastStrandedWarnAt = Number.NEGATIVE_INFINITY
  private ask = { at: Number.NEGATIVE_INFINITY, everyMs: ASK_ADDRESSES_EVERY_MS, connected: -1, round: 0 }
  private readonly nextSeedDialAt = new Map<string, { at: number, backoffMs: number }>()

  constructor(private readonly ctx: NodeContext, private readonly timings: MembershipTimings = defaultTimings) {
    this.liveness = new LivenessCore(timings, Date.now())
    this.topic = topics.liveness(ctx.config.platformId)
    this.exchange = new AddressExchange(ctx, this.addressBook, (peerId, addresses, at) => this.learn(peerId, addresses, at))
  }

  /**
   * Set by the node (`start --peer`): mesh addresses of members to dial while no member this node
   * knows answers, when all of them moved since it last ran.
   */
  seeds: readonly string[] = []

  start(): void {
    const pubsub = this.ctx.mesh.services.pubsub
    pubsub.topicValidators.set(this.topic, (_from, msg) => {
      if (msg.type !== 'signed') return TopicValidatorResult.Reject
      // Ignored, not rejected: a report published by a full member that was removed or demoted a
      // moment ago still travels, and rejecting it would lower the score of the member that forwards
      // it, until gossip stops sending that member anything (the log's entries included).
      if (this.ctx.replica.state.members.get(msg.from.toString())?.role !== 'full') return TopicValidatorResult.Ignore
      return parseReport(decodeJson(msg.data)) ? TopicValidatorResult.Accept : TopicValidatorResult.Reject
    })
    pubsub.subscribe(this.topic)
    pubsub.addEventListener('message', (evt) => {
      const msg = evt.detail
      if (msg.topic !== this.topic || msg.type !== 'signed') return
      const report = parseReport(decodeJson(msg.data))
      if (!report) return
      this.counters.reportsReceived++
      const from = msg.from.toString()
      const now = this.ctx.monotonic()
      this.liveness.receiveReport(from, report, now, Date.now())
      for (const e of report.entries) if (e.heartbeat && e.peerId !== this.ctx.selfId) this.learn(e.peerId, e.heartbeat.addresses, now - e.agoMs)
      // A second way to learn that this node is behind, besides the full members' answers.
      if (report.revision !== undefined) this.noteRevision(from, report.revision)
    })
    void this.ctx.mesh.handle(LIVENESS_PROTOCOL, (stream, connection) => void this.serve(stream, connection), { maxInboundStreams: 4, runOnLimitedConnection: false })
      .catch((err) => this.ctx.log.error({ err: (err as Error).message }, 'cannot serve the liveness protocol'))
    // A full member that just connected learns at once that this node is up, instead of a heartbeat later.
    this.ctx.mesh.addEventListener('peer:connect', (evt) => {
      const peerId = evt.detail.toString()
      if (this.liveness.isFull(peerId)) setTimeout(() => void this.sendHeartbeat(peerId), 100).unref()
    })
    this.ctx.replica.on('applied', (_entry, command) => {
      if (command.kind.startsWith('member.') || command.kind === 'platform.create') this.updateRoster()
      if (command.kind === 'member.join' || command.kind === 'platform.create') void this.connectMembers()
      if (command.kind === 'member.remove') {
        this.liveness.forget(command.peerId)
        this.addressBook.forget(command.peerId)
        this.closeStream(command.peerId)
      }
    })
    this.ctx.replica.on('installed', () => {
      this.updateRoster()
      void this.connectMembers()
    })
    this.updateRoster()
    this.lastCheckAt = this.ctx.monotonic()
    this.lastReachedAt = this.lastCheckAt
    this.exchange.start()
    this.scheduleHeartbeats()
    this.timers.push(setInterval(() => this.check(), CHECK_EVERY_MS))
    this.timers.push(setInterval(() => {
      this.dropStrangers()
      void this.connectMembers()
    }, this.timings.connectEveryMs))
    for (const t of this.timers) t.unref()
    if (TEST_STALL_MS > 0) process.on('SIGUSR2', () => blockFor(TEST_STALL_MS))
    void this.connectMembers()
  }

  stop(): void {
    this.stopped = true
    for (const t of this.timers) clearInterval(t)
    this.timers.length = 0
    clearTimeout(this.heartbeatTimer)
    void this.ctx.mesh.unhandle(LIVENESS_PROTOCOL).catch(() => undefined)
    this.exchange.stop()
    for (const peerId of [...this.outbound.keys()]) this.closeStream(peerId)
    for (const stream of this.inbound) stream.abort(new Error('stopping'))
    this.inbound.clear()
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
   * How far a member's wall clock is ahead of this node's (ms; negative: behind): over the round trip
   * of a heartbeat for a full member, from its heartbeats or a full member's report for the others
   * (then including the gossip delay: milliseconds on a healthy mesh).
   */
  clockOffsetMs(peerId: string): number | undefined {
    const offset = this.liveness.clockOffsetMs(peerId, this.ctx.monotonic())
    return offset === undefined ? undefined : Math.round(offset)
  }

  /** Set by the node: this node's services that are not healthy, announced in its heartbeats. */
  unhealthyServices?: () => readonly string[]

  private updateRoster(): void {
    const members = [...this.ctx.replica.state.members.values()].map((m) => ({ peerId: m.peerId, full: m.role === 'full' }))
    this.liveness.setRoster(this.ctx.selfId, members, this.ctx.monotonic())
    for (const peerId of [...this.outbound.keys()]) if (!this.liveness.isFull(peerId)) this.closeStream(peerId)
  }

  /** Heartbeats every heartbeatMs, with ±10 % jitter so that a platform's nodes do not beat in step. */
  private scheduleHeartbeats(): void {
    if (this.stopped) return
    const delay = this.timings.heartbeatMs * (0.9 + Math.random() * 0.2)
    this.heartbeatTimer = setTimeout(() => {
      if (this.ctx.replica.state.members.has(this.ctx.selfId)) {
        const sentAt = this.ctx.monotonic()
        const to = this.liveness.fullMembers()
        for (const peerId of to) void this.sendHeartbeat(peerId)
        // Not answered within half a period: sent once more (a lost frame or answer is not a silence).
        setTimeout(() => {
          for (const peerId of to) if ((this.liveness.lastHeardAt(peerId) ?? -1) < sentAt) void this.sendHeartbeat(peerId)
        }, this.timings.heartbeatMs / 2).unref()
      }
      this.scheduleHeartbeats()
    }, delay)
    this.heartbeatTimer.unref()
  }

  /** Notices stalls of this node's event loop, and publishes a report when this full member has one to make. */
  private check(): void {
    const now = this.ctx.monotonic()
    const late = now - this.lastCheckAt - CHECK_EVERY_MS
    this.lastCheckAt = now
    if (late > STALL_AFTER_MS) {
      this.liveness.stalled(now, late)
      // Said once a minute at most.
      if (now - this.lastStallWarnAt >= 60_000) {
        this.lastStallWarnAt = now
        this.ctx.log.warn({ stalledMs: Math.round(late) }, 'this node\'s event loop was blocked: that time counts against no member')
      }
    }
    const report = this.liveness.nextReport(now, Date.now())
    if (!report) return
    this.counters.reportsPublished++
    this.ctx.mesh.services.pubsub.publish(this.topic, encodeJson({ ...report, revision: this.ctx.replica.revision })).catch(() => undefined)
  }

  private async sendHeartbeat(peerId: string): Promise<void> {
    if (this.stopped || this.ctx.mesh.getConnections(peerIdFromString(peerId)).length === 0) return
    const now = this.ctx.monotonic()
    const silentSince = Math.max(this.liveness.lastHeardAt(peerId) ?? Number.NEGATIVE_INFINITY, this.openedAt.get(peerId) ?? now)
    if (this.outbound.has(peerId) && now - silentSince > this.timings.deadAfterMs) this.closeStream(peerId)
    const lp = await this.streamTo(peerId)
    if (!lp) return
    try {
      await lp.write(encodeJson({ v: LIVENESS_FORMAT, heartbeat: this.ownHeartbeat() }), { signal: AbortSignal.timeout(5000) })
      this.counters.framesSent++
    } catch {
      this.closeStream(peerId)
    }
  }

  /** One long-lived stream to each full member; its replies are read as they come. */
  private streamTo(peerId: string): Promise<LengthPrefixedStream<Stream> | undefined> {
    let pending = this.outbound.get(peerId)
    if (!pending) {
      this.openedAt.set(peerId, this.ctx.monotonic())
      pending = this.ctx.mesh.dialProtocol(peerIdFromString(peerId), LIVENESS_PROTOCOL, { signal: AbortSignal.timeout(3000) }).then(
        (stream) => {
          // Only this stream's entry: a stream closed late must not drop the one opened after it.
          stream.addEventListener('close', () => {
            if (this.outbound.get(peerId) === pending) this.outbound.delete(peerId)
          })
          const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
          void this.readReplies(peerId, lp)
          return lp
        },
        (err) => {
          this.ctx.log.debug({ peerId, err: (err as Error).message }, 'liveness stream not opened')
          setTimeout(() => {
            if (this.outbound.get(peerId) === pending) this.outbound.delete(peerId)
          }, 200).unref()
          return undefined
        }
      )
      this.outbound.set(peerId, pending)
    }
    return pending
  }

  private closeStream(peerId: string): void {
    const pending = this.outbound.get(peerId)
    this.outbound.delete(peerId)
    void pending?.then((lp) => lp?.unwrap().abort(new Error('closed')))
  }

  private async readReplies(peerId: string, lp: LengthPrefixedStream<Stream>): Promise<void> {
    try {
      for (;;) {
        const frame = parseHeartbeatFrame(decodeJson((await lp.read()).subarray()))
        if (!frame) continue
        this.counters.framesReceived++
        const received = Date.now()
        // The reply echoes our heartbeat's clock: the offset over the round trip, not one way.
        const offset = frame.echo !== undefined && frame.heartbeat.clock !== undefined ? frame.heartbeat.clock - (frame.echo - TEST_CLOCK_SKEW_MS + received) / 2 : undefined
        this.heard(peerId, frame.heartbeat, offset)
      }
    } catch {
      // The stream ended or broke: the next heartbeat opens another.
    }
  }

  /** A member's stream to this full member: each heartbeat is answered with this node's own. */
  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString()
    if (!this.ctx.replica.state.members.has(from)) {
      stream.abort(new Error('not a member'))
      return
    }
    this.inbound.add(stream)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    try {
      for (;;) {
        const frame = parseHeartbeatFrame(decodeJson((await lp.read()).subarray()))
        if (!frame) continue
        this.counters.framesReceived++
        const offset = frame.heartbeat.clock === undefined ? undefined : frame.heartbeat.clock - Date.now()
        this.heard(from, frame.heartbeat, offset)
        // Answered even when not taken (a member removed a moment ago): our revision tells it to catch
        // up, and so to learn that it was removed.
        await lp.write(encodeJson({ v: LIVENESS_FORMAT, heartbeat: this.ownHeartbeat(), ...(frame.heartbeat.clock !== undefined ? { echo: frame.heartbeat.clock } : {}) }), { signal: AbortSignal.timeout(5000) })
        this.counters.framesSent++
      }
    } catch (err) {
      // Ended, broke, or an answer could not be written: closed, so that the member opens another
      // (a stream left open but no longer read would swallow its heartbeats).
      stream.abort(err as Error)
    } finally {
      this.inbound.delete(stream)
    }
  }

  /** Takes a heartbeat heard from `peerId` if it is a member and the heartbeat names that member. */
  private heard(peerId: string, hb: Heartbeat, clockOffsetMs: number | undefined): void {
    const member = this.ctx.replica.state.members.get(peerId)
    if (!member || member.name !== hb.name) return
    const now = this.ctx.monotonic()
    const before = this.liveness.view(peerId, now)
    this.liveness.heardDirectly(peerId, hb, now, clockOffsetMs)
    if (!before.alive) this.ctx.log.info({ member: hb.name, peerId }, 'member is up')
    this.noteRevision(peerId, hb.revision)
    this.learn(peerId, hb.addresses, now)
  }

  /**
   * Where a member said it listens at `at` (itself, or passed on by another member: from authenticated
   * members only). Fresher than what this node knew and different: the peer store gets these
   * addresses and the member's recorded ones (the stale ones it had learnt go), and the member, if
   * not connected, is dialled now rather than at the end of its backoff.
   */
  private learn(peerId: string, addresses: readonly string[], at: number): void {
    const member = this.ctx.replica.state.members.get(peerId)
    if (!member || peerId === this.ctx.selfId) return
    const usable = addresses.filter(isDialable).slice(0, MAX_MEMBER_ADDRESSES)
    if (!this.addressBook.note(peerId, usable, at)) return
    const all = [...new Set([...usable, ...member.addresses.filter(isDialable).slice(0, MAX_MEMBER_ADDRESSES)])]
    this.ctx.mesh.peerStore.patch(peerIdFromString(peerId), { multiaddrs: all.map((a) => multiaddr(a)) }).then(() => {
      if (this.ctx.mesh.getConnections(peerIdFromString(peerId)).length > 0) return
      this.ctx.log.info({ member: member.name, addresses: usable }, 'member heard of at new addresses')
      this.nextDialAt.delete(peerId)
      void this.connectMembers()
    }, (err: Error) => this.ctx.log.debug({ peerId, err: err.message }, 'ignoring unusable addresses'))
  }

  /** How many of the members this node connects to are connected, and whether it has reached none for a while. */
  reach(): { connected: number, of: number, stranded: boolean } {
    const neighbours = meshNeighbours(this.ctx.selfId, [...this.ctx.replica.state.members.values()])
    const connected = neighbours.filter((m) => this.ctx.mesh.getConnections(peerIdFromString(m.peerId)).length > 0).length
    // Live: the flag itself is cleared on the next connection check.
    return { connected, of: neighbours.length, stranded: connected === 0 && this.strandedSince !== undefined }
  }

  /**
   * A member has applied `revision`. Heartbeats travel faster than gossip, so a member a write ahead
   * is the normal case for a moment; only when this node is still below a revision seen a heartbeat
   * period ago has gossip missed something, and it catches up from that member.
   */
  private noteRevision(peerId: string, revision: number): void {
    const mine = this.ctx.replica.revision
    if (revision <= mine) return
    const now = this.ctx.monotonic()
    if (!this.behind || this.behind.revision <= mine) {
      this.behind = { revision, at: now }
      return
    }
    if (now - this.behind.at < this.timings.heartbeatMs) return
    this.behind = { revision, at: now }
    this.onBehind?.(peerId, revision)
  }

  private behind?: { revision: number, at: number }

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
    const neighbours = meshNeighbours(this.ctx.selfId, [...this.ctx.replica.state.members.values()])
    const connected = neighbours.filter((m) => this.ctx.mesh.getConnections(peerIdFromString(m.peerId)).length > 0)
    this.checkReach(neighbours.length, connected.length, now)
    if (connected.length < neighbours.length) this.askAddresses(connected.map((m) => m.peerId), now)
    if (connected.length === 0 && neighbours.length > 0) this.dialSeeds(now)
    for (const member of neighbours) {
      const peerId = peerIdFromString(member.peerId)
      if (connected.includes(member)) {
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

  /** Notes whether this node reaches any member it should; says so when it has reached none for STRANDED_AFTER_MS, and when it does again. */
  private checkReach(of: number, connected: number, now: number): void {
    if (connected > 0 || of === 0) {
      this.lastReachedAt = now
      if (this.strandedSince !== undefined) this.ctx.log.info({ connected, of }, 'members reached again')
      this.strandedSince = undefined
      return
    }
    if (now - this.lastReachedAt < STRANDED_AFTER_MS) return
    this.strandedSince ??= now
    // Said once a minute at most.
    if (now - this.lastStrandedWarnAt < 60_000) return
    this.lastStrandedWarnAt = now
    this.ctx.log.warn({ members: of, seeds: this.seeds }, 'no member answers at the addresses this node knows: if they moved (new ports or IP addresses), restart this node with --peer <host:port> of a member that runs')
  }

  /** While a member does not answer, one connected member (another each time) is asked where the members listen. */
  private askAddresses(connected: readonly string[], now: number): void {
    if (connected.length !== this.ask.connected) this.ask = { ...this.ask, everyMs: ASK_ADDRESSES_EVERY_MS, connected: connected.length }
    if (connected.length === 0 || now - this.ask.at < this.ask.everyMs) return
    this.ask = { ...this.ask, at: now, everyMs: Math.min(this.ask.everyMs * 2, ASK_ADDRESSES_AT_MOST_EVERY_MS), round: this.ask.round + 1 }
    void this.exchange.exchange(connected[this.ask.round % connected.length]!)
  }

  /** Dials the --peer addresses, with exponential backoff; a member there tells this node where the others are. */
  private dialSeeds(now: number): void {
    for (const seed of this.seeds) {
      if (!isDialable(seed)) {
        this.ctx.log.warn({ peer: seed }, 'not a mesh address: --peer ignored')
        continue
      }
      const plan = this.nextSeedDialAt.get(seed)
      if (plan && plan.at > now) continue
      const backoffMs = Math.min((plan?.backoffMs ?? 500) * 2, 30_000)
      this.nextSeedDialAt.set(seed, { at: now + backoffMs, backoffMs })
      this.ctx.mesh.dial(multiaddr(seed), { signal: AbortSignal.timeout(5000) }).then(
        (conn) => this.ctx.log.info({ peer: seed, peerId: conn.remotePeer.toString() }, 'reached a member at a --peer address'),
        (err: Error) => this.ctx.log.warn({ peer: seed, err: err.message }, 'no member answers at a --peer address')
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


/** Test hook: a busy event loop. */
function blockFor(ms: number): void {
  const end = performance.now() + ms
  while (performance.now() < end) { /* busy */ }
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
