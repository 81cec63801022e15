import { decodeMessage, encodeMessage } from '../codec.js'
import type { ConsensusLogger } from '../config.js'
import { RaftCore } from '../raft.js'
import { sendableBeforePersist } from '../ready.js'
import { MemoryStorage } from '../storage.js'
import type { Entry, Membership, Message, NodeId, Ready, Snapshot } from '../types.js'
import type { LogView } from './checker.js'
import { RoleChurn } from './churn.js'
import { SafetyChecker, SafetyViolationError } from './checker.js'
import { SeededRandom } from './random.js'

/**
 * A deliberately broken driver, to prove the checker can fail: `forgetVote` loses the persisted vote on
 * restart (so a node can vote twice in one term); `lossyDisk` loses every log entry after the latest
 * snapshot on a crash, although the Ready said they were durable; `keepStreams` (role churn only)
 * swallows what peers send to a node that left the writer set and came back (see churn.ts).
 */
export type DriverBug = 'forgetVote' | 'lossyDisk' | 'keepStreams'

export interface SimOptions {
  readonly seed: number
  /** Initial voters: 3, 5 or 7. Two more nodes are kept as spares that join as learners. */
  readonly voters: number
  /** Ticks of random faults before the healing phase. */
  readonly steps: number
  readonly bug?: DriverBug
  /**
   * Role churn schedule: operators demote, promote, remove and make nodes leave in quick succession
   * and the leader's voter policy follows (churn.ts), instead of the random membership changes.
   */
  readonly churn?: boolean
  /** Receives every core log line and every fault, prefixed with the tick. */
  readonly trace?: (line: string) => void
}

export interface SimResult {
  readonly seed: number
  readonly voters: number
  readonly ticks: number
  readonly elections: number
  /** Writes acknowledged to a client (committed and applied on the proposing leader). */
  readonly commits: number
  readonly proposals: number
  readonly crashes: number
  /** Crashes of a leader after it sent its early appends, before its own disk write of them. */
  readonly crashesMidWrite: number
  readonly snapshotsInstalled: number
  /** Snapshot installs that took several ticks (a transfer), and those a crash or a leader change interrupted. */
  readonly snapshotTransfers: number
  readonly transfersInterrupted: number
  readonly membershipChanges: number
  readonly messages: number
  /** Set when an invariant failed or the cluster did not recover after healing. */
  readonly violation?: string
}

const HEARTBEAT_TICKS = 2
const ELECTION_TICKS = 8
/** After healing, a leader must be elected and a write applied everywhere within this many ticks. */
export const LIVENESS_TICKS = 60 * ELECTION_TICKS
const MAX_DELIVERY_ROUNDS_PER_TICK = 4
const SPARES = 2
/** Compaction and snapshot transfer: a snapshot's install may take up to this many ticks (its transfer). */
const SNAPSHOT_TRANSFER_TICKS = 3 * ELECTION_TICKS

interface AppState {
  index: number
  hash: number
  readonly writes: Set<string>
}

interface SimNode {
  readonly id: NodeId
  storage: MemoryStorage
  core: RaftCore | null
  app: AppState
  incarnation: number
  /**
   * A Ready holding a snapshot whose install is in progress (the real driver fetches the state over
   * the mesh before persisting it): the core keeps ticking and stepping messages, and gets no new
   * Ready, until `until`. A crash before then loses it, as a crash mid-transfer would.
   */
  installing?: { readonly rd: Ready, readonly until: number }
}

interface InFlight {
  readonly to: NodeId
  readonly from: NodeId
  readonly bytes: Uint8Array
  readonly deliverAt: number
}

interface Ticket {
  readonly write: string
  readonly term: number
  readonly incarnation: number
}

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

function fnv(hash: number, value: number): number {
  return Math.imul(hash ^ value, 16777619) >>> 0
}

function nextState(hash: number, e: Entry): number {
  let h = fnv(fnv(hash, e.index), e.term)
  h = fnv(h, e.kind === 'normal' ? 1 : 2)
  for (const b of e.data) h = fnv(h, b)
  return h
}

function encodeApp(app: AppState): Uint8Array {
  return utf8.encode(JSON.stringify({ index: app.index, hash: app.hash, writes: [...app.writes] }))
}

function decodeApp(data: Uint8Array): AppState {
  if (data.length === 0) return { index: 1, hash: 0, writes: new Set() }
  const v = JSON.parse(fromUtf8.decode(data)) as { index: number; hash: number; writes: string[] }
  return { index: v.index, hash: v.hash, writes: new Set(v.writes) }
}

/** One seeded schedule: N cores, a lossy, reordering, partitionable network, crashes, proposals and membership changes. */
export class Simulation {
  private readonly rng: SeededRandom
  /**
   * Draws only for crashes between a leader's early send and its disk write (see `drive`): its own
   * sequence, so that schedules without such a crash stay those of the same seed before it existed.
   */
  private readonly midWriteRng: SeededRandom
  private healed = false
  private readonly checker = new SafetyChecker()
  private readonly nodes = new Map<NodeId, SimNode>()
  private readonly spares: NodeId[] = []
  private inFlight: InFlight[] = []
  private readonly blocked = new Set<string>()
  private readonly tickets = new Map<string, Ticket>()
  private readonly acked = new Map<string, number>()
  private readonly leaders = new Set<string>()
  private now = 0
  private nextWrite = 0
  private loss: number
  private duplication: number
  private readonly maxDelay: number
  private readonly snapshotEvery: number
  private readonly faultRate: number
  private stats = { proposals: 0, crashes: 0, crashesMidWrite: 0, snapshotsInstalled: 0, snapshotTransfers: 0, transfersInterrupted: 0, membershipChanges: 0, messages: 0 }
  private readonly churn: RoleChurn | undefined

  constructor(private readonly options: SimOptions) {
    this.rng = new SeededRandom(options.seed)
    this.midWriteRng = new SeededRandom(options.seed ^ 0x5eed)
    this.loss = this.rng.next() * 0.15
    this.duplication = this.rng.next() * 0.05
    this.maxDelay = this.rng.int(4)
    this.snapshotEvery = 5 + this.rng.int(40)
    this.faultRate = 0.5 + this.rng.next()
    const voters = Array.from({ length: options.voters }, (_, i) => `n${i + 1}`)
    for (const id of voters) this.addNode(id, MemoryStorage.bootstrap(voters))
    for (let i = 1; i <= SPARES; i++) this.spares.push(`n${options.voters + i}`)
    this.churn = options.churn ? this.roleChurn(voters) : undefined
  }

  private roleChurn(voters: readonly NodeId[]): RoleChurn {
    return new RoleChurn({
      rng: this.rng,
      targetVoters: this.options.voters,
      core: (id) => this.nodes.get(id)?.core ?? null,
      leader: () => this.leader(),
      startCore: (id) => {
        const n = this.nodes.get(id)
        if (n === undefined) this.addNode(id, new MemoryStorage())
        else if (n.core === null) this.start(n)
      },
      stopCore: (id) => this.stop(this.nodes.get(id)!),
      proposeChange: (kind, node) => {
        const leader = this.leader()
        if (leader?.core == null) return
        try {
          leader.core.proposeMembershipChange({ kind, node })
          this.trace(`policy: propose ${kind} ${node} via ${leader.id}`)
          this.stats.membershipChanges++
          this.drive(leader)
        } catch (err) {
          if (!isRefusal(err)) throw err
        }
      },
      transfer: (to) => {
        const leader = this.leader()
        if (leader?.core == null) return
        this.trace(`transfer leadership ${leader.id} -> ${to}`)
        leader.core.transferLeadership(to)
        this.drive(leader)
      },
      trace: (line) => this.trace(line)
    }, voters, this.spares, this.options.bug === 'keepStreams')
  }

  run(): SimResult {
    let violation: string | undefined
    try {
      for (let t = 0; t < this.options.steps; t++) {
        this.injectFaults()
        this.advanceTick()
      }
      this.heal()
      this.checkLiveness()
    } catch (err) {
      // A core that throws (an invariant check inside it) fails the schedule like a violation, replayable by seed.
      const message = err instanceof SafetyViolationError ? err.message : `unexpected ${(err as Error).name}: ${(err as Error).message}`
      violation = `${message} (at tick ${this.now})`
    }
    return {
      seed: this.options.seed,
      voters: this.options.voters,
      ticks: this.now,
      elections: this.leaders.size,
      commits: this.acked.size,
      ...this.stats,
      ...(violation ? { violation } : {})
    }
  }

  // ---- nodes and the driver loop ----

  private addNode(id: NodeId, storage: MemoryStorage): SimNode {
    const n: SimNode = { id, storage, core: null, app: decodeApp(new Uint8Array(0)), incarnation: 0 }
    this.nodes.set(id, n)
    this.start(n)
    return n
  }

  private start(n: SimNode): void {
    if (this.options.bug === 'forgetVote') n.storage.setHardState({ ...n.storage.hardState(), vote: null })
    const snapshot = n.storage.snapshot()
    n.app = decodeApp(snapshot.data)
    n.app.index = snapshot.index
    n.incarnation++
    const trace = this.options.trace
    const logger: ConsensusLogger | undefined = trace && {
      info: (line) => trace(`[${this.now}] ${line}`),
      debug: (line) => trace(`[${this.now}]   ${line}`)
    }
    const random = this.rng.fork()
    n.core = new RaftCore(
      { id: n.id, random: () => random.next(), applied: snapshot.index, heartbeatTicks: HEARTBEAT_TICKS, electionTicks: ELECTION_TICKS, maxInflightAppends: 4, maxAppendBytes: 256, ...(logger ? { logger } : {}) },
      n.storage
    )
  }

  /**
   * Stops the node's core (a crash, or its driver leaving the writer set). The snapshot install in
   * progress goes with it, as in the node's driver (writer-set.ts `installSnapshot` gives up once
   * stopped): the next core starts from storage and must never be handed the old core's Ready.
   */
  private stop(n: SimNode): void {
    if (n.installing) this.trace(`${n.id} abandons its snapshot transfer`)
    n.core = null
    n.installing = undefined
  }

  /**
   * A process crash: its peers see their connections to it close (the node's driver tells its core,
   * writer-set.ts), except across a partition.
   */
  private crash(victim: SimNode): void {
    this.stop(victim)
    this.stats.crashes++
    if (this.options.bug === 'lossyDisk') {
      const { term, vote } = victim.storage.hardState()
      victim.storage = new MemoryStorage(victim.storage.snapshot())
      victim.storage.setHardState({ term, vote, commit: victim.storage.lastIndex() })
    }
    for (const n of this.nodes.values()) {
      if (n.core === null || this.blocked.has(`${victim.id}>${n.id}`)) continue
      n.core.leaderLost(victim.id)
      this.drive(n)
    }
  }

  /**
   * Persist, send, apply, advance, check, as a real driver would. A crash interrupts this only
   * between a leader's early messages and its disk write (writer-set.ts sends them in parallel).
   */
  private drive(n: SimNode): void {
    const core = n.core
    if (core === null) return
    for (;;) {
      let rd: Ready
      if (n.installing) {
        if (this.now < n.installing.until) return
        rd = n.installing.rd
        n.installing = undefined
      } else {
        if (!core.hasReady()) break
        rd = core.ready()
        if (rd.snapshot && this.rng.chance(0.5)) {
          n.installing = { rd, until: this.now + 1 + this.rng.int(SNAPSHOT_TRANSFER_TICKS) }
          this.stats.snapshotTransfers++
          this.trace(`${n.id} transfers snapshot ${rd.snapshot.index} until tick ${n.installing.until}`)
          return
        }
      }
      // The node's driver sends these while its own disk write runs: a crash may come in between.
      const early = rd.entries.length > 0 ? sendableBeforePersist(rd) : []
      if (early.length > 0 && !this.healed && this.midWriteRng.chance(0.01 * this.faultRate)) {
        for (const m of early) this.send(m)
        this.trace(`crash ${n.id} after sending, before its disk write of ${rd.entries[0]!.index}..${rd.entries.at(-1)!.index}`)
        this.crash(n)
        this.stats.crashesMidWrite++
        return
      }
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot)
      if (rd.entries.length > 0) {
        this.checker.appended(n.id, rd.entries, this.termAt(core, rd.entries[0]!.index - 1))
        n.storage.append(rd.entries)
      }
      if (rd.hardState) n.storage.setHardState(rd.hardState)
      for (const m of rd.messages) this.send(m)
      if (rd.snapshot) this.restoreApp(n, rd.snapshot)
      for (const e of rd.committedEntries) this.apply(n, core, e)
      core.advance()
      this.maybeCompact(n, core)
    }
    if (core.softState().role === 'leader') {
      const term = core.hardState().term
      this.leaders.add(`${n.id}@${term}`)
      this.checker.leader(n.id, term, (): LogView => {
        const st = core.status()
        return { firstIndex: st.firstIndex, lastIndex: st.lastIndex, termAt: (i) => this.termAt(core, i) }
      })
    }
  }

  private termAt(core: RaftCore, index: number): number | undefined {
    try {
      return core.termAt(index)
    } catch {
      return undefined
    }
  }

  private restoreApp(n: SimNode, snapshot: Snapshot): void {
    const app = decodeApp(snapshot.data)
    app.index = snapshot.index
    n.app = app
    this.stats.snapshotsInstalled++
    this.checker.restored(n.id, snapshot.index, app.hash)
  }

  private apply(n: SimNode, core: RaftCore, e: Entry): void {
    if (e.index !== n.app.index + 1) {
      throw new SafetyViolationError('state machine safety', `${n.id} applied index ${e.index} right after ${n.app.index}`)
    }
    n.app.index = e.index
    n.app.hash = nextState(n.app.hash, e)
    const write = e.kind === 'normal' && e.data.length > 0 ? fromUtf8.decode(e.data) : undefined
    if (write !== undefined) n.app.writes.add(write)
    this.checker.applied(n.id, core.hardState().term, e, n.app.hash)
    const key = `${n.id}/${e.index}`
    const ticket = this.tickets.get(key)
    if (ticket === undefined) return
    this.tickets.delete(key)
    if (ticket.incarnation === n.incarnation && ticket.term === e.term && ticket.write === write) {
      this.checker.acknowledged(e.index, e.term, e)
      this.acked.set(ticket.write, e.index)
    }
  }

  private maybeCompact(n: SimNode, core: RaftCore): void {
    const snapIndex = n.storage.snapshot().index
    if (n.app.index - snapIndex < this.snapshotEvery) return
    n.storage.createSnapshot(n.app.index, core.membership(), encodeApp(n.app))
    n.storage.compact(n.app.index - this.rng.int(4))
  }

  // ---- network ----

  private send(m: Message): void {
    this.stats.messages++
    if (this.rng.chance(this.loss)) return
    const bytes = encodeMessage(m)
    const copies = this.rng.chance(this.duplication) ? 2 : 1
    for (let i = 0; i < copies; i++) this.inFlight.push({ from: m.from, to: m.to, bytes, deliverAt: this.now + this.rng.int(this.maxDelay + 1) })
  }

  private deliverDue(): boolean {
    const due: InFlight[] = []
    const later: InFlight[] = []
    for (const f of this.inFlight) (f.deliverAt <= this.now ? due : later).push(f)
    if (due.length === 0) return false
    this.inFlight = later
    for (const f of this.rng.shuffle(due)) {
      const target = this.nodes.get(f.to)
      if (target?.core == null || this.blocked.has(`${f.from}>${f.to}`)) continue
      if (this.churn && !this.churn.delivers(f.from, f.to)) continue
      target.core.step(decodeMessage(f.bytes))
      this.drive(target)
    }
    return true
  }

  private advanceTick(): void {
    this.churn?.tick()
    for (const n of this.nodes.values()) {
      // Occasionally skipping a tick models clock drift between machines.
      if (n.core === null || this.rng.chance(0.05)) continue
      n.core.tick()
      this.drive(n)
    }
    for (let round = 0; round < MAX_DELIVERY_ROUNDS_PER_TICK && this.deliverDue(); round++) {}
    this.now++
    // Installs whose transfer has ended complete even on a node with nothing else to do.
    for (const n of this.nodes.values()) if (n.installing && n.installing.until <= this.now) this.drive(n)
  }

  // ---- faults and client activity ----

  private trace(line: string): void {
    this.options.trace?.(`[${this.now}] sim: ${line}`)
  }

  private leader(): SimNode | undefined {
    let best: SimNode | undefined
    let bestTerm = -1
    for (const n of this.nodes.values()) {
      if (n.core?.softState().role !== 'leader') continue
      const term = n.core.hardState().term
      if (term > bestTerm) {
        best = n
        bestTerm = term
      }
    }
    return best
  }

  private injectFaults(): void {
    const r = this.rng
    const f = this.faultRate
    const all = [...this.nodes.values()]
    const up = all.filter((n) => n.core !== null)
    const down = all.filter((n) => n.core === null && (this.churn?.runs(n.id) ?? true))
    // While a snapshot transfer is in progress, the receiver or the leader (a leader change) may crash.
    const installing = up.filter((n) => n.installing)
    const midTransfer = installing.length > 0 && r.chance(0.04 * f)
    if ((midTransfer || r.chance(0.012 * f)) && up.length > 0) {
      const leader = this.leader()
      const victim = midTransfer ? (leader && r.chance(0.5) ? leader : r.pick(installing)) : leader && r.chance(0.5) ? leader : r.pick(up)
      this.trace(`crash ${victim.id}${midTransfer ? ' during a snapshot transfer' : ''}`)
      if (midTransfer) this.stats.transfersInterrupted++
      this.crash(victim)
    }
    for (const n of down) {
      if (r.chance(0.06)) {
        this.trace(`restart ${n.id}`)
        this.churn?.restarted(n.id)
        this.start(n)
      }
    }
    if (r.chance(0.01 * f)) {
      const ids = all.map((n) => n.id)
      const side = new Set(ids.filter(() => r.chance(0.5)))
      this.trace(`partition ${[...side].join(',')} | ${ids.filter((i) => !side.has(i)).join(',')}`)
      for (const a of ids) for (const b of ids) if (side.has(a) !== side.has(b)) this.blocked.add(`${a}>${b}`)
    }
    if (r.chance(0.008 * f)) {
      const a = r.pick(all).id
      const b = r.pick(all).id
      if (a !== b) {
        this.trace(`cut ${a} -> ${b}`)
        this.blocked.add(`${a}>${b}`)
      }
    }
    if (this.blocked.size > 0 && r.chance(0.03)) {
      this.trace('heal network')
      this.blocked.clear()
    }
    if (r.chance(0.5)) {
      const leader = this.leader()
      this.propose(leader && r.chance(0.8) ? leader : r.pick(all))
    }
    if (this.churn) {
      // Operators act in quick succession: often a second change right after the first.
      if (r.chance(0.04 * f)) {
        this.churn.operate()
        if (r.chance(0.4)) this.churn.operate()
      }
    } else if (r.chance(0.03 * f)) this.changeMembership()
    if (r.chance(0.005 * f)) this.transfer()
  }

  private propose(n: SimNode): void {
    if (n.core === null) return
    const write = `w${this.nextWrite++}`
    try {
      const ticket = n.core.propose(utf8.encode(write))
      this.tickets.set(`${n.id}/${ticket.index}`, { write, term: ticket.term, incarnation: n.incarnation })
      this.stats.proposals++
      this.drive(n)
    } catch (err) {
      if (!isRefusal(err)) throw err
    }
  }

  private changeMembership(): void {
    const leader = this.leader()
    if (leader?.core == null) return
    const m: Membership = leader.core.membership()
    const r = this.rng
    const options: (() => void)[] = []
    const propose = (kind: 'addLearner' | 'promote' | 'remove', node: NodeId): void => {
      try {
        leader.core!.proposeMembershipChange({ kind, node })
        this.trace(`propose ${kind} ${node} via ${leader.id}`)
        this.stats.membershipChanges++
        this.drive(leader)
      } catch (err) {
        if (!isRefusal(err)) throw err
      }
    }
    for (const l of m.learners) options.push(() => propose('promote', l))
    const joinable = this.spares.filter((s) => !m.voters.includes(s) && !m.learners.includes(s))
    if (joinable.length > 0 && m.learners.length === 0) {
      options.push(() => {
        const id = joinable[0]!
        if (!this.nodes.has(id)) this.addNode(id, new MemoryStorage())
        propose('addLearner', id)
      })
    }
    if (m.voters.length > 3) options.push(() => propose('remove', r.pick(m.voters)))
    if (options.length > 0) r.pick(options)()
  }

  private transfer(): void {
    const leader = this.leader()
    if (leader?.core == null) return
    const voters = leader.core.membership().voters.filter((v) => v !== leader.id)
    if (voters.length === 0) return
    const to = this.rng.pick(voters)
    this.trace(`transfer leadership ${leader.id} -> ${to}`)
    leader.core.transferLeadership(to)
    this.drive(leader)
  }

  // ---- healing and liveness ----

  private heal(): void {
    this.trace('heal: network repaired, every node restarted')
    this.healed = true
    this.blocked.clear()
    this.loss = 0
    this.duplication = 0
    for (const n of this.nodes.values()) {
      if (n.core !== null || !(this.churn?.runs(n.id) ?? true)) continue
      this.churn?.restarted(n.id)
      this.start(n)
    }
  }

  /** After healing: a leader appears, a fresh write commits, and every member applies it, within LIVENESS_TICKS. */
  private checkLiveness(): void {
    let final: { write: string; leader: NodeId } | undefined
    let unsettled: string | undefined
    const deadline = this.now + LIVENESS_TICKS
    while (this.now < deadline) {
      this.advanceTick()
      const leader = this.leader()
      if (leader?.core == null) continue
      const index = final && this.acked.get(final.write)
      if (index === undefined) {
        // (Re)propose when there is no live proposal at the current leader.
        if (final === undefined || final.leader !== leader.id || !this.hasTicket(final.write)) {
          const write = `w${this.nextWrite}`
          this.propose(leader)
          if (this.hasTicket(write)) final = { write, leader: leader.id }
        }
        continue
      }
      const members = leader.core.membership()
      unsettled = this.churn?.unsettled(members)
      if (unsettled !== undefined) continue
      const lagging = [...members.voters, ...members.learners].filter((id) => (this.nodes.get(id)?.app.index ?? 0) < index)
      if (lagging.length > 0) continue
      for (const id of [...members.voters, ...members.learners]) {
        const app = this.nodes.get(id)!.app
        for (const [write, at] of this.acked) {
          if (at <= app.index && !app.writes.has(write)) {
            throw new SafetyViolationError('durability', `acknowledged write ${write} (index ${at}) is missing on ${id}`)
          }
        }
      }
      return
    }
    const st = [...this.nodes.values()].map((n) => {
      const s = n.core?.status()
      return s ? `${n.id}:${s.role}@${s.term} commit ${s.commit} applied ${n.app.index}` : `${n.id}:down`
    })
    throw new SafetyViolationError('liveness', `no write was applied by every member within ${LIVENESS_TICKS} ticks of healing${unsettled ? ` (${unsettled})` : ''} (${st.join('; ')})`)
  }

  private hasTicket(write: string): boolean {
    for (const t of this.tickets.values()) if (t.write === write) return true
    return false
  }
}

function isRefusal(err: unknown): boolean {
  return err instanceof Error && ['NotLeaderError', 'ProposalDroppedError', 'MembershipChangeError', 'LeadershipTransferError'].includes(err.name)
}
