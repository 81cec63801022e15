import {
  type Entry,
  type Message,
  NotLeaderError,
  ProposalDroppedError,
  RaftCore,
  type Ready,
  type Snapshot,
  SUGGESTED_TICK_MS,
  sendableBeforePersist
} from '../../consensus/index.js'
import { ExitCode, OperatorError } from '../../errors.js'
import type { ApplyResult } from '../../state/machine.js'
import type { SignedEntry } from '../../state/entry.js'
import type { StateRecord, StateStore } from '../../state/store.js'
import type { NodeContext } from '../context.js'
import type { Membership } from '../membership.js'
import type { LogPosition } from '../../state/compaction.js'
import { DurableRaftLog } from './raft-log.js'
import { RaftTransport } from './transport.js'
import { CommitStages } from './commit-stages.js'
import { leavingRefusal, planMembershipChange, type WriterSetPolicy } from './policy.js'

export interface WriterSetInit {
  /** Milliseconds per consensus tick. */
  readonly tickMs?: number
  readonly policy?: Partial<WriterSetPolicy>
  /** Called with each entry this node applied while leading: it is published to observers. */
  readonly publish: (entry: SignedEntry) => void
  /** A failure that leaves this node unable to continue safely (disk, divergence). */
  readonly onFatal: (err: unknown) => void
  /** Downloads and verifies the platform state at `minRevision` or later, from `preferred` peers first. */
  readonly fetchSnapshot?: (minRevision: number, preferred: readonly string[]) => Promise<{ records: StateRecord[], revision: number }>
}

export interface CommitOutcome {
  readonly revision: number
  readonly result: ApplyResult
}

interface Ticket {
  readonly term: number
  readonly proposedAt: number
  /** When the leader's own log write of the entry ended (performance.now()). */
  persistedAt?: number
  readonly resolve: (outcome: CommitOutcome) => void
  readonly reject: (err: unknown) => void
}

const DEFAULT_POLICY: WriterSetPolicy = { maxVoters: 7, targetVoters: undefined, deadVoterAfterMs: 30_000 }

/**
 * A full node's part in the writer set: drives the pure consensus core (src/consensus) with a timer,
 * the node's LevelDB and a libp2p protocol, applies what it commits to the replica, and, on the
 * leader, grows and heals the voter set from the full members.
 */
export class WriterSet {
  readonly dropped: Record<string, number> = {}
  /** Where writes' time goes on this node, stage by stage (shown by `status`). */
  readonly stages = new CommitStages()
  private readonly core: RaftCore
  private readonly transport: RaftTransport
  private readonly tickets = new Map<number, Ticket>()
  private readonly policy: WriterSetPolicy
  private readonly timers: NodeJS.Timeout[] = []
  private processing = false
  private again = false
  private stopped = false
  private leader: string | null = null
  private readonly leaderWaiters = new Set<() => void>()
  /** When this node last stopped following any leader (its start, or losing one); null while it has one. */
  private leaderlessSince: number | null = Date.now()
  private changeInFlight = false
  /** Voters whose leaving this leader accepted and has not applied yet, with when to forget them at the latest. */
  private readonly leavingSoon = new Map<string, number>()
  /** Compaction asked for by the node's compactor, done between two Readys: the entries to keep. */
  private compactRequest?: number
  private compactedAt = Date.now()

  private constructor(private readonly ctx: NodeContext, private readonly log: DurableRaftLog, private readonly membership: Membership, private readonly init: WriterSetInit) {
    this.policy = { ...DEFAULT_POLICY, ...init.policy }
    this.core = new RaftCore({
      id: ctx.selfId,
      random: Math.random,
      applied: Math.max(ctx.replica.state.raft?.index ?? 0, log.firstIndex() - 1),
      logger: { info: (line) => ctx.log.info(line), debug: (line) => ctx.log.debug(line) }
    }, log)
    this.transport = new RaftTransport(ctx.mesh, {
      onMessage: (m) => this.step(m),
      isAllowed: (peer) => ctx.replica.state.members.get(peer)?.role === 'full',
      onDropped: (reason) => { this.dropped[reason] = (this.dropped[reason] ?? 0) + 1 },
      onPeerLost: (peer) => {
        if (this.stopped) return
        this.core.leaderLost(peer)
        this.kick()
      }
    }, ctx.log)
  }

  /** Opens a full node's consensus log; `bootstrap` makes this node the first and only voter. */
  static async open(ctx: NodeContext, store: StateStore, membership: Membership, init: WriterSetInit, bootstrap: boolean): Promise<WriterSet> {
    const log = await DurableRaftLog.open(store, bootstrap ? [ctx.selfId] : undefined, ctx.replica.state.raft?.index ?? 0)
    if (bootstrap) ctx.replica.setRaftCursor(log.snapshot().index, 0)
    return new WriterSet(ctx, log, membership, init)
  }

  async start(): Promise<void> {
    await this.transport.start()
    const tickMs = this.init.tickMs ?? SUGGESTED_TICK_MS
    this.timers.push(setInterval(() => {
      this.core.tick()
      this.kick()
    }, tickMs))
    this.timers.push(setInterval(() => this.manageVoters(), 1000))
    for (const t of this.timers) t.unref()
    this.kick()
  }

  /** Hands leadership to another voter first (graceful shutdown), then stops. */
  async stop(): Promise<void> {
    if (this.stopped) return
    if (this.isLeader()) await this.transferLeadership(1500)
    this.stopped = true
    for (const t of this.timers) clearInterval(t)
    await this.transport.stop()
    for (const t of this.tickets.values()) t.reject(unknownOutcome('the node is stopping'))
    this.tickets.clear()
  }

  isLeader(): boolean {
    return this.leader === this.ctx.selfId
  }

  leaderId(): string | null {
    return this.leader
  }

  /**
   * Whether committed entries reach this node through the consensus log: it is a voter or a learner
   * and follows a leader. A full member that just joined (not yet added) or that was taken out of the
   * configuration gets them from the log topic meanwhile.
   */
  receivesCommits(): boolean {
    if (this.leader === null) return false
    const { voters, learners } = this.core.status().membership
    return voters.includes(this.ctx.selfId) || learners.includes(this.ctx.selfId)
  }

  /** Resolves when the leader this node knows changes (one is elected, or lost), or after `ms`. */
  leaderChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.leaderWaiters.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.leaderWaiters.add(wake)
    })
  }

  status(): Record<string, unknown> {
    const s = this.core.status()
    const leaderlessForMs = this.leaderlessSince === null ? null : Date.now() - this.leaderlessSince
    return { role: s.role, term: s.term, leader: s.leader, leaderlessForMs, commit: s.commit, applied: s.applied, voters: s.membership.voters, learners: s.membership.learners, dropped: this.dropped, logSyncs: this.log.syncs, commitStages: this.stages.summary() }
  }

  /**
   * Refuses, on the leader, a demotion or removal (or `leave`) that would strand the writer set: of
   * its only voter, while another change is in flight, or leaving fewer than a majority of voters.
   */
  async vetoMembershipCommand(command: { kind: string, peerId?: string, role?: string }): Promise<OperatorError | undefined> {
    const leaving = command.kind === 'member.remove' || (command.kind === 'member.role' && command.role === 'observer')
    if (!leaving || !command.peerId) return undefined
    // A change in flight applies within a few round trips: wait for it rather than refuse at once.
    const isVoter = (): boolean => this.core.status().membership.voters.includes(command.peerId!)
    for (let waited = 0; isVoter() && this.core.membershipChangePending() && waited < 3000; waited += 50) await new Promise((r) => setTimeout(r, 50))
    const now = Date.now()
    for (const [peer, until] of this.leavingSoon) if (until <= now) this.leavingSoon.delete(peer)
    const voters = this.core.status().membership.voters
    const refusal = leavingRefusal({
      node: command.peerId,
      voters,
      staying: (v) => this.ctx.replica.state.members.get(v)?.role === 'full' && !this.leavingSoon.has(v),
      changeInFlight: this.core.membershipChangePending()
    })
    if (refusal === 'last-voter') {
      return new OperatorError('PRYV_LAST_VOTER', 'This member is the writer set\'s only voter: demoting or removing it would stop all writes.', {
        hint: 'Add or promote another full member first, and wait until `pryv-node status` shows it as a voter.',
        exitCode: ExitCode.conflict
      })
    }
    if (refusal) {
      const why = refusal === 'change-in-flight' ? 'the writer set is changing' : 'fewer than a majority of its voters would stay full members'
      return new OperatorError('PRYV_WRITER_SET_BUSY', `Taking this member out of the writer set now would stop all writes: ${why}.`, {
        hint: 'Wait until `pryv-node status` shows the earlier role changes done (voters and learners settled), then retry; promote another full member first if too few remain.',
        exitCode: ExitCode.conflict
      })
    }
    // The write takes a moment to commit: a second leaving accepted meanwhile must count this one as gone.
    if (voters.includes(command.peerId)) this.leavingSoon.set(command.peerId, now + 15_000)
    return undefined
  }

  /** The write of an accepted leaving is over (applied here, or failed): the state tells the rest. */
  leavingSettled(peerId: string): void {
    this.leavingSoon.delete(peerId)
  }

  /**
   * Proposes a command (its JSON text, already stamped) on the leader and resolves once it is
   * committed and applied here. Throws NotLeaderError when this node does not lead.
   */
  propose(payload: string, timeoutMs = 10_000): Promise<CommitOutcome> {
    const proposedAt = performance.now()
    const ticket = this.core.propose(new TextEncoder().encode(payload))
    this.kick()
    return new Promise<CommitOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.tickets.delete(ticket.index)
        reject(unknownOutcome(`the write was not committed within ${timeoutMs / 1000} s`))
      }, timeoutMs)
      this.tickets.set(ticket.index, {
        term: ticket.term,
        proposedAt,
        resolve: (o) => { clearTimeout(timer); resolve(o) },
        reject: (e) => { clearTimeout(timer); reject(e) }
      })
    })
  }

  private step(m: Message): void {
    if (this.stopped) return
    this.core.step(m)
    this.kick()
  }

  /** Runs the Ready loop unless it is running; a run in progress loops again. */
  private kick(): void {
    if (this.stopped) return
    if (this.processing) {
      this.again = true
      return
    }
    this.processing = true
    void this.drain()
  }

  private async drain(): Promise<void> {
    try {
      do {
        this.again = false
        while (!this.stopped && this.core.hasReady()) await this.handle(this.core.ready())
        // Between two Readys: the applied index and the membership are those of the same entry.
        if (this.compactRequest !== undefined && !this.stopped) await this.compactNow(this.compactRequest)
      } while (this.again && !this.stopped)
    } catch (err) {
      this.stopped = true
      for (const t of this.timers) clearInterval(t)
      this.init.onFatal(err)
    } finally {
      this.processing = false
    }
  }

  /**
   * The order is the core's contract: persist, then send, then apply, then advance; except that a
   * leader's appends go out while it writes the same entries (`sendableBeforePersist`).
   */
  private async handle(rd: Ready): Promise<void> {
    const startedAt = performance.now()
    const early = sendableBeforePersist(rd)
    this.send(early)
    if (rd.snapshot) {
      if (!(await this.installSnapshot(rd))) return
    } else {
      await this.log.persist(rd)
    }
    const persistedAt = performance.now()
    this.timePersist(rd, startedAt, persistedAt)
    this.send(early.length === 0 ? rd.messages : rd.messages.filter((m) => !early.includes(m)))
    for (const e of rd.committedEntries) await this.apply(e, startedAt)
    if (rd.softState) {
      if (rd.softState.leader === null) this.leaderlessSince ??= Date.now()
      else this.leaderlessSince = null
      if (rd.softState.leader !== this.leader) for (const wake of this.leaderWaiters) wake()
      this.leader = rd.softState.leader
    }
    this.core.advance()
  }

  private timePersist(rd: Ready, startedAt: number, persistedAt: number): void {
    if (rd.entries.length === 0) return
    if (!this.isLeader()) {
      this.stages.record('followerPersist', persistedAt - startedAt)
      return
    }
    let first = true
    for (const e of rd.entries) {
      const ticket = this.tickets.get(e.index)
      if (!ticket) continue
      ticket.persistedAt = persistedAt
      this.stages.record('queue', startedAt - ticket.proposedAt)
      // One write per Ready: counted once, however many proposals it carried.
      if (first) this.stages.record('persist', persistedAt - startedAt)
      first = false
    }
  }

  private send(messages: readonly Message[]): void {
    if (messages.length === 0) return
    void this.transport.sendAll(messages, (m, ok) => {
      this.core.reportSnapshot(m.to, ok ? 'delivered' : 'failed')
      this.kick()
    })
  }

  /**
   * A snapshot from the leader: this node is too far behind its compacted log (or new). The state it
   * stands for (the revision in its data; none for the writer set's founding snapshot) is fetched
   * unless this node holds it already, then written in one batch with the consensus snapshot. A
   * fetch that fails is retried (the core keeps stepping messages meanwhile). False when stopped first.
   */
  private async installSnapshot(rd: Ready): Promise<boolean> {
    const snapshot = rd.snapshot!
    const revision = snapshotRevision(snapshot)
    let fetched: { records: StateRecord[], revision: number } | undefined
    for (let attempt = 0; revision > this.ctx.replica.revision; attempt++) {
      if (this.stopped) return false
      if (!this.init.fetchSnapshot) throw new Error('this node cannot fetch a state snapshot')
      try {
        const leader = rd.softState?.leader ?? this.leader
        fetched = await this.init.fetchSnapshot(revision, leader ? [leader] : [])
        break
      } catch (err) {
        this.ctx.log.warn({ revision, attempt, err: (err as Error).message }, 'fetching the state snapshot failed; retrying')
        await new Promise((r) => setTimeout(r, Math.min(5000, 250 * 2 ** attempt)))
      }
    }
    const ops = await this.log.prepare(rd)
    await this.ctx.replica.installSnapshot(fetched?.records ?? [], fetched?.revision ?? revision, { index: snapshot.index, revision }, ops)
    this.compactedAt = Date.now()
    return true
  }

  /** Where the consensus log stands, for the compaction policy. */
  logPosition(): LogPosition {
    return { head: this.ctx.replica.state.raft?.index ?? 0, compactedThrough: this.log.snapshot().index, compactedAt: this.compactedAt }
  }

  /** The consensus log's latest snapshot (index and platform revision) and its first stored entry. */
  snapshotStatus(): { index: number, revision: number, firstIndex: number } {
    const snapshot = this.log.snapshot()
    return { index: snapshot.index, revision: snapshotRevision(snapshot), firstIndex: this.log.firstIndex() }
  }

  /** Compacts the consensus log at the next chance, keeping the last `trailing` entries. */
  requestCompaction(trailing: number): void {
    this.compactRequest = trailing
    this.kick()
  }

  private async compactNow(trailing: number): Promise<void> {
    this.compactRequest = undefined
    const cursor = this.ctx.replica.state.raft
    if (!cursor || cursor.index !== this.core.status().applied) return
    const data = new TextEncoder().encode(JSON.stringify({ revision: cursor.revision }))
    await this.log.compact(cursor.index, this.core.membership(), data, trailing)
    this.compactedAt = Date.now()
  }

  /** `readyAt`: when the Ready that committed `e` began to be handled. */
  private async apply(e: Entry, readyAt: number): Promise<void> {
    const payload = e.kind === 'normal' && e.data.length > 0 ? new TextDecoder().decode(e.data) : undefined
    const out = await this.ctx.replica.applyCommitted(e.index, payload, this.ctx.identity, this.ctx.selfId)
    // Gossiped at once, not deferred: the entry that removes a member must go out before applying it
    // cuts that member's connections (test/node/leave.test.ts, "a member removed by another one").
    if (out.entry && this.isLeader()) this.init.publish(out.entry)
    const ticket = this.tickets.get(e.index)
    if (!ticket) return
    this.tickets.delete(e.index)
    if (ticket.persistedAt !== undefined) {
      // A single voter commits in the Ready that persists: nothing to replicate.
      const committedAt = Math.max(readyAt, ticket.persistedAt)
      this.stages.record('replicate', committedAt - ticket.persistedAt)
      this.stages.record('apply', performance.now() - committedAt)
    }
    if (ticket.term !== e.term || out.revision === undefined) {
      ticket.reject(new OperatorError('PRYV_WRITE_LOST', 'The write was lost in a change of leader and not committed.', { hint: 'Retry it.', exitCode: ExitCode.unreachable }))
    } else {
      ticket.resolve({ revision: out.revision, result: out.result ?? { ok: true } })
    }
  }

  /** On the leader: one membership change at a time, from the policy. */
  private manageVoters(): void {
    if (!this.isLeader() || this.changeInFlight || this.stopped) return
    const status = this.core.status()
    const change = planMembershipChange({
      self: this.ctx.selfId,
      membership: status.membership,
      fullMembers: [...this.ctx.replica.state.members.values()].filter((m) => m.role === 'full').map((m) => m.peerId),
      liveness: (peer) => this.membership.view(peer),
      caughtUp: (peer) => (status.peers.get(peer)?.match ?? 0) >= status.commit,
      policy: this.policy
    })
    if (!change) return
    try {
      this.changeInFlight = true
      this.core.proposeMembershipChange(change)
      this.ctx.log.info({ change: change.kind, node: this.ctx.replica.state.members.get(change.node)?.name ?? change.node }, 'writer set change proposed')
      this.kick()
    } catch (err) {
      if (!(err instanceof ProposalDroppedError) && !(err instanceof NotLeaderError)) this.ctx.log.warn({ err: (err as Error).message }, 'writer set change refused')
    } finally {
      this.changeInFlight = false
    }
  }

  /** Hands leadership to the most up-to-date living voter, if this node leads; waits up to `waitMs`. */
  async transferLeadership(waitMs: number): Promise<void> {
    const status = this.core.status()
    const candidates = status.membership.voters.filter((v) => v !== this.ctx.selfId && this.membership.view(v).alive)
    const to = candidates.sort((a, b) => (status.peers.get(b)?.match ?? 0) - (status.peers.get(a)?.match ?? 0))[0]
    if (!to) return
    try {
      this.core.transferLeadership(to)
      this.kick()
    } catch {
      return
    }
    const deadline = Date.now() + waitMs
    while (this.isLeader() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
  }
}

/** The platform revision a consensus snapshot stands for (0 for the founding one, which holds no state). */
function snapshotRevision(snapshot: Snapshot): number {
  if (snapshot.data.length === 0) return 0
  const revision = (JSON.parse(new TextDecoder().decode(snapshot.data)) as { revision?: unknown }).revision
  if (!Number.isSafeInteger(revision) || (revision as number) < 0) throw new Error('a consensus snapshot names no platform revision')
  return revision as number
}

function unknownOutcome(why: string): OperatorError {
  return new OperatorError('PRYV_WRITE_OUTCOME_UNKNOWN', `${why}; it may or may not have been applied.`, {
    hint: 'Check with `pryv-node status` before retrying.',
    exitCode: ExitCode.unreachable
  })
}
