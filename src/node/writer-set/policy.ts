import type { Membership, MembershipChange } from '../../consensus/index.js'
import type { LivenessView } from '../../mesh/liveness.js'

export interface WriterSetPolicy {
  /** Never more voters than this (etcd and Consul advise 7 at most). */
  readonly maxVoters: number
  /** Fixed number of voters; default by platform size: 1, then 3 from three full members, 5 from five. */
  readonly targetVoters: number | undefined
  /** A voter unheard of for this long is replaced. */
  readonly deadVoterAfterMs: number
}

export interface PlanInput {
  readonly self: string
  readonly membership: Membership
  /** Peer ids of the members with role full. */
  readonly fullMembers: readonly string[]
  readonly liveness: (peer: string) => LivenessView
  /** Whether a learner has every committed entry (the core refuses to promote one that has not). */
  readonly caughtUp: (peer: string) => boolean
  readonly policy: WriterSetPolicy
}

export function targetVoters(fullMembers: number, policy: WriterSetPolicy): number {
  const wanted = policy.targetVoters ?? (fullMembers >= 5 ? 5 : fullMembers >= 3 ? 3 : 1)
  return Math.max(1, Math.min(wanted, policy.maxVoters, 7, fullMembers))
}

/**
 * The next single change that moves the writer set toward its target, or undefined. Pure: the leader
 * calls it periodically and proposes what it returns, one change at a time, in this order of need:
 * drop nodes that are no longer full members; replace a dead voter (promote a caught-up learner
 * first, else remove the dead voter if the living keep a majority); add full members as learners;
 * promote learners up to the target.
 */
export function planMembershipChange(input: PlanInput): MembershipChange | undefined {
  const { self, membership, policy } = input
  const full = new Set(input.fullMembers)
  const voters = membership.voters
  const learners = membership.learners
  const alive = (p: string): boolean => p === self || input.liveness(p).alive
  const dead = (p: string): boolean => {
    if (p === self) return false
    const v = input.liveness(p)
    return !v.alive && v.lastSeenAgoMs !== undefined && v.lastSeenAgoMs > policy.deadVoterAfterMs
  }

  const goneLearner = learners.find((l) => !full.has(l))
  if (goneLearner) return { kind: 'remove', node: goneLearner }
  const goneVoter = voters.find((v) => !full.has(v) && v !== self)
  if (goneVoter && voters.length > 1) return { kind: 'remove', node: goneVoter }

  const promotable = learners.filter((l) => alive(l) && input.caughtUp(l)).sort()
  const deadVoter = voters.find(dead)
  if (deadVoter) {
    if (promotable[0] && voters.length < policy.maxVoters) return { kind: 'promote', node: promotable[0] }
    const livingAfter = voters.filter((v) => v !== deadVoter && alive(v)).length
    if (voters.length > 1 && livingAfter > (voters.length - 1) / 2) return { kind: 'remove', node: deadVoter }
  }

  const inSet = new Set([...voters, ...learners])
  const newcomer = input.fullMembers.filter((p) => !inSet.has(p) && alive(p)).sort()[0]
  if (newcomer) return { kind: 'addLearner', node: newcomer }

  const livingVoters = voters.filter((v) => !dead(v)).length
  if (livingVoters < targetVoters(full.size, policy) && promotable[0]) return { kind: 'promote', node: promotable[0] }
  return undefined
}

export interface LeavingInput {
  /** The member a demotion, removal or `leave` would take out of the writer set. */
  readonly node: string
  readonly voters: readonly string[]
  /** Whether a voter is to stay in the writer set (still a full member, not itself on its way out). */
  readonly staying: (voter: string) => boolean
  /** A membership change is proposed and not applied yet on the leader. */
  readonly changeInFlight: boolean
}

/**
 * Why taking `node` out of the writer set now would strand the platform, or undefined. A demoted or
 * removed voter stops at once, before the leader removes it from the voter set: the voters that stay
 * must still make a majority of the current set, and no other change may be in flight (a pending
 * removal can shrink the set under a decision made on the larger one).
 */
export function leavingRefusal(input: LeavingInput): 'last-voter' | 'change-in-flight' | 'no-majority' | undefined {
  const { node, voters } = input
  if (!voters.includes(node)) return undefined
  if (voters.length === 1) return 'last-voter'
  if (input.changeInFlight) return 'change-in-flight'
  const staying = voters.filter((v) => v !== node && input.staying(v)).length
  return staying < Math.floor(voters.length / 2) + 1 ? 'no-majority' : undefined
}
