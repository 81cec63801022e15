import { describe, expect, it } from 'vitest'
import type { LivenessView } from '../../src/mesh/liveness.js'
import { leavingRefusal, planMembershipChange, targetVoters, type WriterSetPolicy } from '../../src/node/writer-set/policy.js'

const policy: WriterSetPolicy = { maxVoters: 7, targetVoters: undefined, deadVoterAfterMs: 30_000 }
const up: LivenessView = { alive: true, lastSeenAgoMs: 100 }
const downLong: LivenessView = { alive: false, lastSeenAgoMs: 60_000 }
const downShort: LivenessView = { alive: false, lastSeenAgoMs: 5_000 }

function plan(voters: string[], learners: string[], full: string[], live: Record<string, LivenessView> = {}, behind: string[] = []) {
  return planMembershipChange({
    self: 'a',
    membership: { voters, learners },
    fullMembers: full,
    liveness: (p) => live[p] ?? up,
    caughtUp: (p) => !behind.includes(p),
    policy
  })
}

describe('the writer set grows and heals one change at a time', () => {
  it.each([
    [1, 1], [2, 1], [3, 3], [4, 3], [5, 5], [9, 5]
  ])('targets %i full members with %i voters', (n, t) => {
    expect(targetVoters(n, policy)).toBe(t)
  })

  it('adds a new full member as a learner first, then promotes it once caught up and needed', () => {
    expect(plan(['a'], [], ['a', 'b', 'c'])).toEqual({ kind: 'addLearner', node: 'b' })
    expect(plan(['a'], ['b'], ['a', 'b', 'c'])).toEqual({ kind: 'addLearner', node: 'c' })
    expect(plan(['a'], ['b', 'c'], ['a', 'b', 'c'], {}, ['b', 'c'])).toBeUndefined()
    expect(plan(['a'], ['b', 'c'], ['a', 'b', 'c'], {}, ['c'])).toEqual({ kind: 'promote', node: 'b' })
    expect(plan(['a', 'b', 'c'], ['d'], ['a', 'b', 'c', 'd'])).toBeUndefined()
  })

  it('with two full members keeps one voter (two voters would tolerate no more failures than one)', () => {
    expect(plan(['a'], ['b'], ['a', 'b'])).toBeUndefined()
  })

  it('replaces a voter dead for longer than the threshold: promotes a learner, then removes the dead one', () => {
    const live = { c: downLong }
    expect(plan(['a', 'b', 'c'], ['d'], ['a', 'b', 'c', 'd'], live)).toEqual({ kind: 'promote', node: 'd' })
    expect(plan(['a', 'b', 'c', 'd'], [], ['a', 'b', 'c', 'd'], live)).toEqual({ kind: 'remove', node: 'c' })
  })

  it('does not act on a voter that is only briefly down', () => {
    expect(plan(['a', 'b', 'c'], ['d'], ['a', 'b', 'c', 'd'], { c: downShort })).toBeUndefined()
  })

  it('never removes a dead voter when the living would not keep a majority', () => {
    expect(plan(['a', 'b', 'c'], [], ['a', 'b', 'c'], { b: downLong, c: downLong })).toBeUndefined()
  })

  it('drops nodes that are no longer full members, learners first', () => {
    expect(plan(['a', 'b'], ['x'], ['a', 'b'])).toEqual({ kind: 'remove', node: 'x' })
    expect(plan(['a', 'b', 'y'], [], ['a', 'b'])).toEqual({ kind: 'remove', node: 'y' })
  })
})

describe('a member may leave the writer set only if the voters that stay keep a majority', () => {
  const voters = ['a', 'b', 'c']
  const refusal = (node: string, notStaying: string[] = [], changeInFlight = false) =>
    leavingRefusal({ node, voters, staying: (v) => !notStaying.includes(v), changeInFlight })

  it('lets a voter go when the others stay, and learners or observers always', () => {
    expect(refusal('c')).toBeUndefined()
    expect(refusal('d', ['a', 'b'], true)).toBeUndefined()
  })

  it('refuses a second voter while the first demoted one is still in the voter set (quick succession)', () => {
    expect(refusal('b', ['c'])).toBe('no-majority')
  })

  it('refuses while a change is in flight, and the only voter always', () => {
    expect(refusal('c', [], true)).toBe('change-in-flight')
    expect(leavingRefusal({ node: 'a', voters: ['a'], staying: () => true, changeInFlight: false })).toBe('last-voter')
  })
})
