import { decodeMembershipChange, encodeMembershipChange } from './codec.js'
import type { RaftConfig, RaftConfigInit } from './config.js'
import { validateConfig } from './config.js'
import {
  CallOrderError,
  CompactedError,
  LeadershipTransferError,
  MembershipChangeError,
  NotLeaderError,
  ProposalDroppedError,
  SnapshotUnavailableError
} from './errors.js'
import { RaftLog } from './log.js'
import type { ProgressState } from './progress.js'
import { Progress } from './progress.js'
import type { LogStorage } from './storage.js'
import type {
  AppendMessage,
  AppendResponseMessage,
  Entry,
  EntryKind,
  HardState,
  HeartbeatMessage,
  Membership,
  MembershipChange,
  Message,
  NodeId,
  PreVoteMessage,
  ProposalTicket,
  Ready,
  Role,
  SnapshotMessage,
  SoftState,
  VoteMessage
} from './types.js'

/** Outgoing message before the core stamps its id and term on it. */
type Outgoing<M = Message> = M extends Message ? Omit<M, 'from' | 'term'> & { term?: number } : never

/** A snapshot sent to a peer and never acknowledged is sent again after this many election timeouts. */
const SNAPSHOT_RETRY_ELECTIONS = 3

export interface PeerStatus {
  readonly match: number
  readonly next: number
  readonly state: ProgressState
  readonly inflight: number
  readonly learner: boolean
}

export interface RaftStatus {
  readonly id: NodeId
  readonly term: number
  readonly vote: NodeId | null
  readonly role: Role
  readonly leader: NodeId | null
  readonly commit: number
  readonly applied: number
  readonly firstIndex: number
  readonly lastIndex: number
  readonly membership: Membership
  readonly transferringTo: NodeId | null
  /** Only on the leader: its view of every other member. */
  readonly peers: ReadonlyMap<NodeId, PeerStatus>
}

/**
 * The Raft state machine for one node: no I/O, no clock, no randomness of its own. The driver calls
 * `tick()` on a timer, `step()` for each received message and `propose()` for writes, then loops
 * `if (hasReady()) { const rd = ready(); …persist, send, apply…; advance() }`. Not thread-safe; all
 * calls must come from one task. Membership changes take effect when applied (at `advance()`), and
 * only one can be in flight.
 */
export class RaftCore {
  readonly id: NodeId
  private readonly config: RaftConfig
  private readonly log: RaftLog
  private term: number
  private vote: NodeId | null
  private role: Role = 'follower'
  private leader: NodeId | null = null
  private voters = new Set<NodeId>()
  private learners = new Set<NodeId>()
  /** Sorted copy of voters and learners, rebuilt on every change. */
  private currentMembership: Membership = { voters: [], learners: [] }
  /** Only on the leader, one per member including itself. */
  private readonly progress = new Map<NodeId, Progress>()
  private readonly votes = new Map<NodeId, boolean>()
  private msgs: Message[] = []
  private electionElapsed = 0
  private heartbeatElapsed = 0
  private randomizedElectionTimeout = 0
  private transferee: NodeId | null = null
  /** Index of the latest membership entry this leader proposed (or inherited). */
  private pendingConfIndex = 0
  /** Index of this leader's term-start no-op: no membership change before it is applied (single-server change rule). */
  private termStartIndex = 0
  /** Membership entries up to here are in effect. */
  private membershipIndex: number
  private prevHard: HardState
  private prevSoft: SoftState
  private pending: Ready | null = null
  /**
   * Ticks left to campaign for a leadership transfer that arrived while a membership entry in this
   * node's log was not applied yet (see `stepFollower`); 0 when there is none.
   */
  private deferredTransferTicks = 0

  constructor(init: RaftConfigInit, storage: LogStorage) {
    this.config = validateConfig(init)
    this.id = this.config.id
    const { hardState, membership } = storage.initialState()
    const snapshotIndex = storage.firstIndex() - 1
    const applied = this.config.applied ?? snapshotIndex
    this.log = new RaftLog(storage, hardState.commit, applied)
    if (applied > hardState.commit || applied < snapshotIndex) {
      throw new RangeError(`applied ${applied} must lie between the last compacted index ${snapshotIndex} and the commit ${hardState.commit}`)
    }
    this.term = hardState.term
    this.vote = hardState.vote
    this.setMembership(membership)
    this.membershipIndex = snapshotIndex
    // The application's state already reflects entries up to `applied`, so the membership must too.
    for (const e of this.log.entries(snapshotIndex + 1, Number.POSITIVE_INFINITY, applied + 1)) {
      if (e.kind === 'membership') this.applyMembershipChange(e)
    }
    this.membershipIndex = applied
    this.prevHard = hardState
    this.prevSoft = { leader: null, role: 'follower' }
    this.becomeFollower(this.term, null)
  }

  // ---- inputs ----

  /** Advances logical time by one tick. */
  tick(): void {
    if (this.role === 'leader') this.tickLeader()
    else this.tickElection()
  }

  /** Feeds one received message. Messages for another node or from a stale term are dropped. */
  step(m: Message): void {
    if (m.to !== this.id) return
    if (m.term > this.term) {
      if (m.type === 'preVote' || m.type === 'vote') {
        const forced = m.type === 'vote' && m.transfer
        if (!forced && this.inLease()) {
          this.debug(`ignored ${m.type} from ${m.from} at term ${m.term}: leader ${this.leader} lease has ${this.config.electionTicks - this.electionElapsed} tick(s) left`)
          return
        }
      }
      // A pre-vote, or a granted pre-vote response, carries a future term without making it current.
      if (m.type !== 'preVote' && !(m.type === 'preVoteResp' && !m.reject)) {
        const fromLeader = m.type === 'append' || m.type === 'heartbeat' || m.type === 'commit' || m.type === 'snapshot'
        this.becomeFollower(m.term, fromLeader ? m.from : null)
      }
    } else if (m.term < this.term) {
      if ((this.config.checkQuorum || this.config.preVote) && (m.type === 'append' || m.type === 'heartbeat')) {
        // Tell a deposed leader our term so it steps down instead of disrupting us forever.
        this.send({ type: 'appendResp', to: m.from, index: 0, reject: false, hintIndex: 0, hintTerm: 0 })
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', to: m.from, reject: true })
      }
      return
    }
    if (m.type === 'preVote' || m.type === 'vote') {
      this.handleVoteRequest(m)
      return
    }
    if (this.role === 'leader') this.stepLeader(m)
    else if (this.role === 'follower') this.stepFollower(m)
    else this.stepCandidate(m)
  }

  /**
   * Appends `data` to the log if this node is the leader. The write succeeded iff a committed entry with
   * the returned index and term is later applied; another term at that index means it was lost.
   * Throws NotLeaderError (with the leader hint) or ProposalDroppedError.
   */
  propose(data: Uint8Array): ProposalTicket {
    this.checkCanPropose()
    if (data.length > this.config.maxEntryBytes) {
      throw new ProposalDroppedError(`the entry is ${data.length} bytes, more than maxEntryBytes (${this.config.maxEntryBytes})`)
    }
    return this.appendEntry('normal', data)
  }

  /**
   * Proposes one membership change. A node joins with `addLearner`, is promoted with `promote` once it
   * has every committed entry, and leaves with `remove`. Throws NotLeaderError, ProposalDroppedError
   * (retry later: a change is in flight, or the learner is behind) or MembershipChangeError (never valid).
   */
  proposeMembershipChange(change: MembershipChange): ProposalTicket {
    this.checkCanPropose()
    const { kind, node } = change
    if (typeof node !== 'string' || node.length === 0) throw new MembershipChangeError('the node id is empty')
    if (this.log.applied < Math.max(this.pendingConfIndex, this.termStartIndex)) {
      throw new ProposalDroppedError('the previous membership change (or this leader’s first entry) is not applied yet')
    }
    if (kind === 'addLearner') {
      if (this.voters.has(node) || this.learners.has(node)) throw new MembershipChangeError(`${node} is already a member`)
    } else if (kind === 'promote') {
      if (!this.learners.has(node)) throw new MembershipChangeError(`${node} is not a learner`)
      const match = this.progress.get(node)?.match ?? 0
      if (match < this.log.committed) {
        throw new ProposalDroppedError(`learner ${node} has not caught up (it has ${match} of ${this.log.committed} committed entries)`)
      }
    } else if (kind === 'remove') {
      if (!this.voters.has(node) && !this.learners.has(node)) throw new MembershipChangeError(`${node} is not a member`)
      if (this.voters.has(node) && this.voters.size === 1) throw new MembershipChangeError(`${node} is the last voter`)
    } else {
      throw new MembershipChangeError(`unknown change kind ${String(kind)}`)
    }
    const ticket = this.appendEntry('membership', encodeMembershipChange({ kind, node }))
    this.pendingConfIndex = ticket.index
    return ticket
  }

  /**
   * Hands leadership to voter `to` (graceful shutdown): once `to` has the whole log it is told to
   * campaign at once. Proposals are refused meanwhile; the attempt is abandoned after electionTicks.
   */
  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.id, this.leader)
    if (to === this.id) return
    if (!this.voters.has(to)) throw new LeadershipTransferError(`${to} is not a voter`)
    if (this.transferee === to) return
    this.info(`transferring leadership to ${to} at term ${this.term}`)
    this.transferee = to
    this.electionElapsed = 0
    const pr = this.progress.get(to)!
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to })
    else this.sendAppend(to, true)
  }

  /**
   * The driver's report on a snapshot message it sent to `to`: `failed` sends it again at the next
   * chance; `delivered` waits for the follower's acknowledgement.
   */
  reportSnapshot(to: NodeId, outcome: 'delivered' | 'failed'): void {
    const pr = this.progress.get(to)
    if (this.role !== 'leader' || pr?.state !== 'snapshot') return
    if (outcome === 'failed') pr.pendingSnapshot = 0
    pr.becomeProbe()
    pr.probeSent = outcome === 'delivered'
  }

  /**
   * The driver saw its connection to `peer` close (the process died, or the link broke). If `peer` is
   * this follower's leader, the leader is forgotten, which ends its lease here, and a voter campaigns
   * within 1 to heartbeatTicks + 1 ticks instead of a whole election timeout. Pre-vote keeps this
   * harmless when the leader is in fact alive: the voters that still hear it refuse, and its next
   * message makes it this node's leader again.
   */
  leaderLost(peer: NodeId): void {
    if (this.role !== 'follower' || this.leader !== peer) return
    this.info(`lost the connection to leader ${peer} at term ${this.term}`)
    this.leader = null
    const soon = 1 + Math.floor(this.config.random() * (this.config.heartbeatTicks + 1))
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon)
  }

  // ---- outputs ----

  hasReady(): boolean {
    if (this.pending !== null) return false
    return (
      this.msgs.length > 0 ||
      this.log.unstableEntries().length > 0 ||
      this.log.pendingSnapshot() !== undefined ||
      this.log.hasNextCommitted() ||
      this.hardChanged() ||
      this.softChanged()
    )
  }

  /** Collects the work to do (see {@link Ready}); call `advance()` when done before the next `ready()`. */
  ready(): Ready {
    if (this.pending !== null) throw new CallOrderError('ready() was called again before advance()')
    const hard = this.hardState()
    const hardChanged = this.hardChanged()
    const entries = [...this.log.unstableEntries()]
    const snapshot = this.log.pendingSnapshot()
    const rd: Ready = {
      ...(this.softChanged() ? { softState: { leader: this.leader, role: this.role } } : {}),
      ...(hardChanged ? { hardState: hard } : {}),
      entries,
      ...(snapshot ? { snapshot } : {}),
      committedEntries: this.log.nextCommitted(),
      messages: this.msgs,
      mustSync: entries.length > 0 || snapshot !== undefined || hard.term !== this.prevHard.term || hard.vote !== this.prevHard.vote
    }
    this.msgs = []
    this.pending = rd
    return rd
  }

  /** Acknowledges the last Ready: its entries and snapshot are durable and its committed entries applied. */
  advance(): void {
    const rd = this.pending
    if (rd === null) throw new CallOrderError('advance() was called without a ready()')
    this.pending = null
    if (rd.softState) this.prevSoft = rd.softState
    if (rd.hardState) this.prevHard = rd.hardState
    if (rd.snapshot) {
      this.log.stableSnapshotTo(rd.snapshot.index)
      this.log.appliedTo(rd.snapshot.index)
    }
    const last = rd.entries.at(-1)
    if (last) this.log.stableTo(last.index, last.term)
    for (const e of rd.committedEntries) {
      if (e.kind === 'membership' && e.index > this.membershipIndex) this.applyMembershipChange(e)
    }
    const lastApplied = rd.committedEntries.at(-1)
    if (lastApplied) this.log.appliedTo(lastApplied.index)
    if (this.deferredTransferTicks > 0 && this.role === 'follower' && !this.hasUnappliedMembershipEntry()) {
      this.deferredTransferTicks = 0
      this.info(`campaigning at term ${this.term} for the deferred leadership transfer`)
      this.campaign('transfer')
    }
  }

  /**
   * On the leader: whether a membership change (or this leader's first entry) is not applied yet, so
   * that `proposeMembershipChange` would refuse. The writer set's safety checks read it.
   */
  membershipChangePending(): boolean {
    return this.role === 'leader' && this.log.applied < Math.max(this.pendingConfIndex, this.termStartIndex)
  }

  /** Membership as of the last applied entry: what a snapshot taken now must record. */
  membership(): Membership {
    return this.currentMembership
  }

  /** Current term, vote and commit (what the next Ready would persist). */
  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed }
  }

  /** Current role and known leader: route proposals to `leader`. */
  softState(): SoftState {
    return { leader: this.leader, role: this.role }
  }

  /** A full picture for metrics, debugging and tests; allocates, so do not call it per message. */
  status(): RaftStatus {
    const peers = new Map<NodeId, PeerStatus>()
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue
      peers.set(id, { match: pr.match, next: pr.next, state: pr.state, inflight: pr.inflightCount(), learner: pr.isLearner })
    }
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leader: this.leader,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      membership: this.membership(),
      transferringTo: this.transferee,
      peers
    }
  }

  /** Term of the entry at `index` as this node sees it (including unpersisted entries); throws CompactedError/UnavailableError. */
  termAt(index: number): number {
    return this.log.term(index)
  }

  // ---- roles ----

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term
      this.vote = null
    }
    this.leader = null
    this.electionElapsed = 0
    this.heartbeatElapsed = 0
    // One tick past electionTicks: when the first survivor's pre-vote arrives, every survivor that heard
    // the same last heartbeat has passed its lease, even with tick phases up to one tick apart.
    this.randomizedElectionTimeout = this.config.electionTicks + 1 + Math.floor(this.config.random() * this.config.electionTicks)
    this.transferee = null
    this.votes.clear()
    this.progress.clear()
    this.pendingConfIndex = 0
    this.termStartIndex = 0
    this.deferredTransferTicks = 0
  }

  private becomeFollower(term: number, leader: NodeId | null): void {
    const changed = term !== this.term || this.role !== 'follower'
    this.reset(term)
    this.role = 'follower'
    this.leader = leader
    if (changed) this.info(`became follower at term ${term}${leader ? ` (leader ${leader})` : ''}`)
  }

  private becomePreCandidate(): void {
    // The term and vote stay as they are: that is the point of pre-vote.
    this.role = 'preCandidate'
    this.leader = null
    this.votes.clear()
    this.info(`became pre-candidate at term ${this.term}`)
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1)
    this.vote = this.id
    this.role = 'candidate'
    this.info(`became candidate at term ${this.term}`)
  }

  private becomeLeader(): void {
    this.reset(this.term)
    this.role = 'leader'
    this.leader = this.id
    const next = this.log.lastIndex() + 1
    for (const id of [...this.voters, ...this.learners]) {
      this.progress.set(id, new Progress(next, this.learners.has(id), this.config.maxInflightAppends))
    }
    const self = this.progress.get(this.id)!
    self.becomeReplicate()
    self.match = next - 1
    self.next = next
    // Any membership entry in the inherited log must be applied before this leader proposes another.
    this.pendingConfIndex = next - 1
    this.info(`became leader at term ${this.term}`)
    // Raft §8: a no-op of the new term lets earlier entries commit (§5.4.2 forbids counting old-term replicas).
    this.termStartIndex = this.appendEntry('normal', new Uint8Array(0)).index
  }

  private promotable(): boolean {
    return this.voters.has(this.id)
  }

  private inLease(): boolean {
    return this.config.checkQuorum && this.leader !== null && this.electionElapsed < this.config.electionTicks
  }

  private tickElection(): void {
    if (this.deferredTransferTicks > 0) this.deferredTransferTicks--
    this.electionElapsed++
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0
      this.campaign('preVote')
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++
    this.electionElapsed++
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0
      if (this.config.checkQuorum) {
        const active = [...this.voters].filter((v) => v === this.id || this.progress.get(v)?.recentActive)
        for (const [id, pr] of this.progress) pr.recentActive = id === this.id
        if (active.length <= this.voters.size / 2) {
          this.info(`stepped down at term ${this.term}: heard from only ${active.length} of ${this.voters.size} voters`)
          this.becomeFollower(this.term, null)
          return
        }
      }
      if (this.transferee !== null) {
        this.info(`abandoned leadership transfer to ${this.transferee} at term ${this.term}`)
        this.transferee = null
      }
    }
    for (const [id, pr] of this.progress) {
      if (pr.state === 'snapshot' && ++pr.snapshotTicks >= SNAPSHOT_RETRY_ELECTIONS * this.config.electionTicks) {
        pr.pendingSnapshot = 0
        pr.becomeProbe()
        this.sendAppend(id, true)
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0
      for (const [id, pr] of this.progress) {
        if (id !== this.id) this.send({ type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.committed) })
      }
    }
  }

  /**
   * `preVote` runs the pre-vote round when enabled; `election` increments the term and asks for votes;
   * `transfer` is an election the old leader asked for, which voters honour despite their lease.
   */
  private campaign(kind: 'preVote' | 'election' | 'transfer'): void {
    if (!this.promotable()) return
    if (this.hasUnappliedMembershipChange()) {
      this.info(`cannot campaign at term ${this.term}: a committed membership change is not applied yet`)
      return
    }
    const pre = kind === 'preVote' && this.config.preVote
    const transfer = kind === 'transfer'
    if (pre) this.becomePreCandidate()
    else this.becomeCandidate()
    const term = pre ? this.term + 1 : this.term
    if (this.poll(this.id, true) === 'won') {
      this.wonRound(pre)
      return
    }
    const lastIndex = this.log.lastIndex()
    const lastTerm = this.log.lastTerm()
    for (const v of this.voters) {
      if (v === this.id) continue
      if (pre) this.send({ type: 'preVote', to: v, term, lastIndex, lastTerm })
      else this.send({ type: 'vote', to: v, term, lastIndex, lastTerm, transfer })
    }
  }

  private wonRound(pre: boolean): void {
    if (pre) {
      this.campaign('election')
      return
    }
    this.becomeLeader()
    this.bcastAppend()
  }

  /** Whether the log holds a membership entry, committed or not, that is not applied yet. */
  private hasUnappliedMembershipEntry(): boolean {
    const last = this.log.lastIndex()
    if (this.log.applied >= last) return false
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex())
    return this.log.entries(lo, Number.POSITIVE_INFINITY, last + 1).some((e) => e.kind === 'membership')
  }

  private hasUnappliedMembershipChange(): boolean {
    if (this.log.applied >= this.log.committed) return false
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex())
    return this.log.entries(lo, Number.POSITIVE_INFINITY, this.log.committed + 1).some((e) => e.kind === 'membership')
  }

  private poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(from)) this.votes.set(from, granted)
    let yes = 0
    let no = 0
    for (const v of this.voters) {
      const vote = this.votes.get(v)
      if (vote === true) yes++
      else if (vote === false) no++
    }
    const quorum = Math.floor(this.voters.size / 2) + 1
    if (yes >= quorum) return 'won'
    if (no > this.voters.size - quorum) return 'lost'
    return 'pending'
  }

  // ---- message handling ----

  private handleVoteRequest(m: PreVoteMessage | VoteMessage): void {
    const respType = m.type === 'preVote' ? 'preVoteResp' : 'voteResp'
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leader === null) ||
      // A pre-vote for a future term is granted even if we already voted in this one.
      (m.type === 'preVote' && m.term > this.term)
    if (canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm) && !this.outranksPreCandidate(m)) {
      this.send({ type: respType, to: m.from, term: m.term, reject: false })
      if (m.type === 'vote') {
        this.electionElapsed = 0
        this.vote = m.from
      }
    } else {
      this.send({ type: respType, to: m.from, reject: true })
    }
  }

  /**
   * Two nodes that time out together would both win the pre-vote and then split the real vote, costing
   * a whole extra election timeout (the p99 of failover). Between simultaneous pre-candidates only the
   * one with the better log, or the lower id on a tie, gets the other's pre-vote. Pre-votes never affect
   * safety, and the best pre-candidate always gets through, so this cannot livelock.
   */
  private outranksPreCandidate(m: PreVoteMessage | VoteMessage): boolean {
    if (m.type !== 'preVote' || this.role !== 'preCandidate' || m.term !== this.term + 1) return false
    const lastTerm = this.log.lastTerm()
    const lastIndex = this.log.lastIndex()
    if (m.lastTerm !== lastTerm) return lastTerm > m.lastTerm
    if (m.lastIndex !== lastIndex) return lastIndex > m.lastIndex
    return this.id < m.from
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0
        this.leader = m.from
        this.handleAppend(m)
        break
      case 'heartbeat':
        this.electionElapsed = 0
        this.leader = m.from
        this.handleHeartbeat(m)
        break
      case 'commit':
        // At most the match this node acknowledged in this term: entries it holds, as the leader's.
        this.electionElapsed = 0
        this.leader = m.from
        this.log.commitTo(m.commit)
        break
      case 'snapshot':
        this.electionElapsed = 0
        this.leader = m.from
        this.handleSnapshot(m)
        break
      case 'timeoutNow':
        if (!this.promotable()) break
        if (this.hasUnappliedMembershipEntry()) {
          // The leader may have committed a membership change this node has not heard is committed:
          // campaigning on the older membership could need votes from a node that has left, forever.
          // The leader's next heartbeat carries the commit; campaign once the change is applied.
          this.info(`received timeoutNow from ${m.from} at term ${this.term}, campaigning once the membership entries in the log are applied`)
          this.deferredTransferTicks = this.config.electionTicks
          break
        }
        this.info(`received timeoutNow from ${m.from} at term ${this.term}, campaigning`)
        this.campaign('transfer')
        break
      default:
        break
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'commit':
      case 'snapshot':
        // A leader exists at our term (for a pre-candidate: at the term we have not left).
        this.becomeFollower(this.term, m.from)
        this.stepFollower(m)
        break
      case 'preVoteResp':
      case 'voteResp': {
        if ((m.type === 'preVoteResp') !== (this.role === 'preCandidate')) return
        const result = this.poll(m.from, !m.reject)
        if (result === 'won') this.wonRound(this.role === 'preCandidate')
        else if (result === 'lost') this.becomeFollower(this.term, null)
        break
      }
      default:
        break
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from)
    if (pr === undefined) return
    pr.recentActive = true
    if (m.type === 'appendResp') this.handleAppendResponse(m, pr)
    else if (m.type === 'heartbeatResp') {
      pr.probeSent = false
      if (pr.state === 'replicate') pr.freeOne()
      if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true)
    }
  }

  private handleAppend(m: AppendMessage): void {
    if (m.prevIndex < this.log.committed) {
      this.send({ type: 'appendResp', to: m.from, index: this.log.committed, reject: false, hintIndex: 0, hintTerm: 0 })
      return
    }
    const lastNew = this.log.maybeAppend(m.prevIndex, m.prevTerm, m.entries)
    if (lastNew !== null) {
      this.log.commitTo(Math.min(m.commit, lastNew))
      this.send({ type: 'appendResp', to: m.from, index: lastNew, reject: false, hintIndex: 0, hintTerm: 0 })
      return
    }
    const [hintIndex, hintTerm] = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm)
    this.debug(`rejected append from ${m.from} at term ${this.term}: no entry ${m.prevIndex}/${m.prevTerm}, hint ${hintIndex}/${hintTerm}`)
    this.send({ type: 'appendResp', to: m.from, index: m.prevIndex, reject: true, hintIndex, hintTerm })
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    this.log.commitTo(m.commit)
    this.send({ type: 'heartbeatResp', to: m.from })
  }

  private handleSnapshot(m: SnapshotMessage): void {
    const s = m.snapshot
    if (s.index > this.log.committed) {
      if (this.log.matchTerm(s.index, s.term)) {
        // We already hold the snapshot's last entry: just commit up to it and keep the log.
        this.log.commitTo(s.index)
      } else {
        this.info(`restoring snapshot at term ${this.term}: index ${s.index} (term ${s.term}) from ${m.from}`)
        this.log.restore(s)
        this.setMembership(s.membership)
        this.membershipIndex = s.index
      }
    }
    this.send({ type: 'appendResp', to: m.from, index: this.log.committed, reject: false, hintIndex: 0, hintTerm: 0 })
  }

  private handleAppendResponse(m: AppendResponseMessage, pr: Progress): void {
    if (m.reject) {
      let hint = m.hintIndex
      if (m.hintTerm > 0) hint = this.log.findConflictByTerm(m.hintIndex, m.hintTerm)[0]
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe()
        this.sendAppend(m.from, true)
      }
      return
    }
    const wasPaused = pr.isPaused()
    if (!pr.maybeUpdate(m.index)) return
    if (pr.state === 'probe') pr.becomeReplicate()
    else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe()
      pr.becomeReplicate()
    } else if (pr.state === 'replicate') pr.freeTo(m.index)
    if (this.maybeCommit()) this.bcastCommit()
    // A paused follower may have missed the latest commit index: send it, even with no entries.
    else if (wasPaused) this.sendAppend(m.from, true)
    while (this.sendAppend(m.from, false)) {}
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) {
      this.info(`sending timeoutNow to ${m.from} at term ${this.term}: it has caught up`)
      this.send({ type: 'timeoutNow', to: m.from })
    }
  }

  // ---- replication ----

  private checkCanPropose(): void {
    if (this.role !== 'leader') throw new NotLeaderError(this.id, this.leader)
    if (this.transferee !== null) throw new ProposalDroppedError(`leadership is being transferred to ${this.transferee}`)
  }

  private appendEntry(kind: EntryKind, data: Uint8Array): ProposalTicket {
    const entry: Entry = { index: this.log.lastIndex() + 1, term: this.term, kind, data }
    this.log.append([entry])
    this.progress.get(this.id)?.maybeUpdate(entry.index)
    this.maybeCommit()
    this.bcastAppend()
    return { index: entry.index, term: entry.term }
  }

  /** Raft §5.3/§5.4.2: commit the highest index a majority of voters hold, only if it is from this term. */
  private maybeCommit(): boolean {
    const matches = [...this.voters].map((v) => this.progress.get(v)?.match ?? 0).sort((a, b) => b - a)
    if (matches.length === 0) return false
    const index = matches[Math.floor(matches.length / 2)]!
    if (index <= this.log.committed || this.log.term(index) !== this.term) return false
    this.log.commitTo(index)
    return true
  }

  /**
   * Tells every follower the new commit index: a follower that holds the whole log (replicating,
   * match at the last index) gets a commit notice, which it does not answer; the others an append.
   * That saves a message each way per follower and write on the common path.
   */
  private bcastCommit(): void {
    const last = this.log.lastIndex()
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue
      if (pr.state === 'replicate' && pr.match === last) this.send({ type: 'commit', to: id, commit: this.log.committed })
      else this.sendAppend(id, true)
    }
  }

  private bcastAppend(): void {
    for (const id of this.progress.keys()) {
      if (id !== this.id) this.sendAppend(id, true)
    }
  }

  /** Sends the next append (or a snapshot) to `to` unless its flow is paused. Returns true if something was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to)
    if (pr === undefined || pr.isPaused()) return false
    let prevTerm: number
    let entries: readonly Entry[]
    try {
      prevTerm = this.log.term(pr.next - 1)
      entries = this.log.entries(pr.next, this.config.maxAppendBytes)
    } catch (err) {
      if (err instanceof CompactedError) return this.sendSnapshot(to, pr)
      throw err
    }
    if (entries.length === 0 && !sendIfEmpty) return false
    this.send({ type: 'append', to, prevIndex: pr.next - 1, prevTerm, entries, commit: this.log.committed })
    pr.sentAppend(entries.at(-1)?.index)
    return true
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    let snapshot: SnapshotMessage['snapshot']
    try {
      snapshot = this.log.snapshot()
    } catch (err) {
      if (err instanceof SnapshotUnavailableError) return false
      throw err
    }
    this.debug(`sending snapshot to ${to} at term ${this.term}: index ${snapshot.index}`)
    this.send({ type: 'snapshot', to, snapshot })
    pr.becomeSnapshot(snapshot.index)
    return true
  }

  // ---- membership ----

  private setMembership(m: Membership): void {
    this.voters = new Set(m.voters)
    this.learners = new Set(m.learners)
    this.currentMembership = { voters: [...this.voters].sort(), learners: [...this.learners].sort() }
  }

  private applyMembershipChange(e: Entry): void {
    this.membershipIndex = e.index
    const { kind, node } = decodeMembershipChange(e.data)
    const voters = new Set(this.voters)
    const learners = new Set(this.learners)
    if (kind === 'addLearner') {
      if (!voters.has(node)) learners.add(node)
    } else if (kind === 'promote') {
      if (learners.delete(node)) voters.add(node)
    } else {
      voters.delete(node)
      learners.delete(node)
    }
    this.setMembership({ voters: [...voters], learners: [...learners] })
    const m = this.currentMembership
    this.info(`applied ${kind} ${node} at term ${this.term}: index ${e.index} (voters ${m.voters.join(',')}; learners ${m.learners.join(',') || '-'})`)
    if (this.role !== 'leader') return
    if (!this.voters.has(this.id)) {
      this.info(`stepped down at term ${this.term}: no longer a voter`)
      this.becomeFollower(this.term, null)
      return
    }
    if (kind === 'remove') {
      this.progress.delete(node)
      if (this.transferee === node) this.transferee = null
    } else {
      let pr = this.progress.get(node)
      if (pr === undefined) {
        pr = new Progress(this.log.lastIndex() + 1, true, this.config.maxInflightAppends)
        this.progress.set(node, pr)
      }
      pr.isLearner = !this.voters.has(node)
    }
    // A smaller quorum may commit more; a new member needs the log.
    if (this.maybeCommit()) this.bcastAppend()
    else if (kind === 'addLearner') this.sendAppend(node, true)
  }

  // ---- plumbing ----

  private send(m: Outgoing): void {
    this.msgs.push({ ...m, from: this.id, term: m.term ?? this.term } as Message)
  }


  private hardChanged(): boolean {
    const p = this.prevHard
    return p.term !== this.term || p.vote !== this.vote || p.commit !== this.log.committed
  }

  private softChanged(): boolean {
    return this.prevSoft.leader !== this.leader || this.prevSoft.role !== this.role
  }

  private info(line: string): void {
    this.config.logger.info(`${this.id} ${line}`)
  }

  private debug(line: string): void {
    this.config.logger.debug(`${this.id} ${line}`)
  }
}
