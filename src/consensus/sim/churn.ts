import type { Membership, NodeId } from '../types.js'
import type { RaftCore } from '../raft.js'
import type { SeededRandom } from './random.js'

/**
 * The role a node's operator wants for it. A node runs its consensus core only while `full`: an
 * observer's driver stops its core and keeps its storage (it may be promoted again, with its stale
 * log and membership), and a `gone` node (removed, or left) never comes back under the same id.
 */
export type WantedRole = 'full' | 'observer' | 'gone'

/** What the churn schedule needs from the simulation it runs in. */
export interface ChurnHost {
  readonly rng: SeededRandom
  /** Initial voter count: the policy grows the voter set back to it. */
  readonly targetVoters: number
  core(id: NodeId): RaftCore | null
  leader(): { readonly id: NodeId, readonly core: RaftCore | null } | undefined
  /** Starts the node's core from its storage (a fresh one for a node never seen). */
  startCore(id: NodeId): void
  /** Stops the node's core as its driver does when it leaves the writer set; its storage stays. */
  stopCore(id: NodeId): void
  proposeChange(kind: 'addLearner' | 'promote' | 'remove', node: NodeId): void
  transfer(to: NodeId): void
  trace(line: string): void
}

/** Ticks between two runs of the leader's voter policy (about 1 s with 50 ms ticks, as in the node). */
const POLICY_TICKS = 20
/** A leader leaving the writer set first hands over leadership, waiting up to this long (1.5 s in the node). */
const HANDOVER_TICKS = 30

/**
 * Role churn, as operators cause it (`members demote`, `members promote`, `members remove`,
 * `leave`), in quick succession and between the simulation's crashes and partitions; and the
 * leader's voter policy that follows the wanted roles one change at a time (a model of
 * src/node/writer-set/policy.ts: remove non-full members, add full ones as learners, promote caught-up
 * learners up to the target). With `keepStreams`, a driver that leaves the writer set keeps the
 * streams its peers opened to it and drops what they send once it is back (the bug of issue 11):
 * until either end restarts, the node never hears them.
 */
export class RoleChurn {
  private readonly wanted = new Map<NodeId, WantedRole>()
  /** Per node: peers whose messages its driver swallows (keepStreams only). */
  private readonly deafTo = new Map<NodeId, Set<NodeId>>()
  private ticks = 0
  /** Leaders that leave the writer set once they have handed over, with the tick they give up waiting. */
  private readonly handingOver = new Map<NodeId, number>()

  constructor(private readonly host: ChurnHost, voters: readonly NodeId[], private readonly spares: readonly NodeId[], private readonly keepStreams: boolean) {
    for (const v of voters) this.wanted.set(v, 'full')
    for (const s of spares) this.wanted.set(s, 'observer')
  }

  /** Whether a node's driver runs its core (after a crash, only these restart). */
  runs(id: NodeId): boolean {
    return this.wanted.get(id) === 'full'
  }

  /** Whether a message from `from` reaches the core of `to`. */
  delivers(from: NodeId, to: NodeId): boolean {
    return !this.deafTo.get(to)?.has(from)
  }

  /** A process restart opens new connections: nothing stale remains on either end. */
  restarted(id: NodeId): void {
    this.deafTo.delete(id)
    for (const peers of this.deafTo.values()) peers.delete(id)
  }

  /** One operator action, at random; refused like the node refuses it (see `veto`). */
  operate(): void {
    const r = this.host.rng
    const id = r.pick([...this.wanted.keys()])
    const role = this.wanted.get(id)
    if (role === 'observer') {
      this.host.trace(`promote ${id}`)
      this.setRole(id, 'full')
      return
    }
    if (role !== 'full') return
    const gone = [...this.wanted.values()].filter((w) => w === 'gone').length
    const action = gone < this.spares.length ? r.pick(['demote', 'remove', 'leave'] as const) : 'demote'
    const refusal = this.veto(id)
    if (refusal) {
      this.host.trace(`${action} ${id} refused: ${refusal}`)
      return
    }
    this.host.trace(`${action} ${id}`)
    this.setRole(id, action === 'demote' ? 'observer' : 'gone')
  }

  /**
   * The leader's refusal (src/node/writer-set/writer-set.ts `vetoMembershipCommand`): a voter may
   * leave the writer set only when no other change is in flight, and if the voters that stay full
   * still make a majority of the current set. Without a leader the change could not be committed.
   */
  private veto(id: NodeId): string | undefined {
    const leader = this.host.leader()
    if (leader?.core == null) return 'no leader'
    const { voters } = leader.core.membership()
    if (!voters.includes(id)) return undefined
    if (leader.core.membershipChangePending()) return 'a writer set change is in flight'
    const staying = voters.filter((v) => v !== id && this.wanted.get(v) === 'full').length
    return staying < Math.floor(voters.length / 2) + 1 ? `${staying} of ${voters.length} voters would stay` : undefined
  }

  private setRole(id: NodeId, role: WantedRole): void {
    this.wanted.set(id, role)
    if (role === 'full') {
      this.host.startCore(id)
      return
    }
    const leader = this.host.leader()
    if (leader?.id === id) {
      // The driver's stop() hands leadership to a caught-up voter first (writer-set.ts `stop`).
      const to = leader.core!.membership().voters.find((v) => v !== id && this.wanted.get(v) === 'full')
      if (to) this.host.transfer(to)
      this.handingOver.set(id, this.ticks + HANDOVER_TICKS)
      return
    }
    this.leave(id)
  }

  private leave(id: NodeId): void {
    this.handingOver.delete(id)
    if (this.host.core(id) === null) return
    this.host.stopCore(id)
    if (this.keepStreams && this.wanted.get(id) === 'observer') this.deafTo.set(id, new Set([...this.wanted.keys()].filter((p) => p !== id)))
  }

  /** Called every tick: the leader's policy proposes at most one change per POLICY_TICKS. */
  tick(): void {
    this.ticks++
    for (const [id, until] of this.handingOver) {
      if (this.wanted.get(id) === 'full') this.handingOver.delete(id)
      else if (this.host.leader()?.id !== id || this.ticks >= until) this.leave(id)
    }
    if (this.ticks % POLICY_TICKS !== 0) return
    const leader = this.host.leader()
    if (leader?.core == null) return
    const status = leader.core.status()
    const m: Membership = status.membership
    const next = this.plan(m, (p) => (status.peers.get(p)?.match ?? 0) >= status.commit)
    if (next) this.host.proposeChange(next.kind, next.node)
  }

  private plan(m: Membership, caughtUp: (p: NodeId) => boolean): { kind: 'addLearner' | 'promote' | 'remove', node: NodeId } | undefined {
    const full = (p: NodeId): boolean => this.wanted.get(p) === 'full'
    const leaving = [...m.learners, ...m.voters].find((p) => !full(p))
    if (leaving) return { kind: 'remove', node: leaving }
    const newcomer = [...this.wanted.keys()].find((p) => full(p) && this.host.core(p) !== null && !m.voters.includes(p) && !m.learners.includes(p))
    if (newcomer) return { kind: 'addLearner', node: newcomer }
    const learner = m.learners.find(caughtUp)
    if (learner && m.voters.length < this.host.targetVoters) return { kind: 'promote', node: learner }
    return undefined
  }

  /** After healing: undefined once the writer set is exactly the full nodes, else what is still wrong. */
  unsettled(m: Membership): string | undefined {
    const members = new Set([...m.voters, ...m.learners])
    for (const [id, role] of this.wanted) {
      if (role === 'full' && !members.has(id)) return `${id} is full but not in the writer set`
      if (role !== 'full' && members.has(id)) return `${id} is ${role} but still in the writer set`
    }
    const full = [...this.wanted.values()].filter((w) => w === 'full').length
    if (m.voters.length < Math.min(full, this.host.targetVoters)) return `${m.voters.length} voters of ${Math.min(full, this.host.targetVoters)} wanted`
    return undefined
  }
}
