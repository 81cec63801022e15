import { describe, expect, it } from 'vitest'
import { CallOrderError, LeadershipTransferError, MembershipChangeError, NotLeaderError, ProposalDroppedError } from '../../src/consensus/errors.js'
import { RaftCore } from '../../src/consensus/raft.js'
import { MemoryStorage } from '../../src/consensus/storage.js'
import type { Message } from '../../src/consensus/types.js'
import { TestCluster, text } from './harness.js'

/** Handles every Ready of a lone core: persists to `storage`, returns the messages it would send. */
const drain = (core: RaftCore, storage: MemoryStorage): Message[] => {
  const out: Message[] = []
  while (core.hasReady()) {
    const rd = core.ready()
    storage.append(rd.entries)
    if (rd.hardState) storage.setHardState(rd.hardState)
    out.push(...rd.messages)
    core.advance()
  }
  return out
}

describe('leader election (Raft §5.2)', () => {
  it('elects the first node to time out and logs one line per state change', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    expect(c.core('n1').softState()).toEqual({ leader: 'n1', role: 'leader' })
    expect(c.core('n2').softState()).toEqual({ leader: 'n1', role: 'follower' })
    expect(c.core('n1').hardState().term).toBe(2)
    expect(c.lines).toContain('n1 became pre-candidate at term 1')
    expect(c.lines).toContain('n1 became leader at term 2')
    // §8: the term-start no-op commits, and with it everything before it.
    expect(c.core('n3').status().commit).toBe(2)
  })

  it('grants at most one vote per term, and persists it before answering', () => {
    const storage = MemoryStorage.bootstrap(['a', 'b', 'c'])
    const core = new RaftCore({ id: 'a', random: () => 0 }, storage)
    core.step({ type: 'vote', from: 'b', to: 'a', term: 5, lastIndex: 1, lastTerm: 1, transfer: false })
    const rd = core.ready()
    expect(rd.hardState).toEqual({ term: 5, vote: 'b', commit: 1 })
    expect(rd.mustSync).toBe(true)
    expect(rd.messages).toEqual([{ type: 'voteResp', from: 'a', to: 'b', term: 5, reject: false }])
    core.advance()
    core.step({ type: 'vote', from: 'c', to: 'a', term: 5, lastIndex: 9, lastTerm: 4, transfer: false })
    expect(drain(core, storage)).toEqual([{ type: 'voteResp', from: 'a', to: 'c', term: 5, reject: true }])
  })

  it('refuses a candidate whose log is less up to date (§5.4.1)', () => {
    const storage = MemoryStorage.bootstrap(['a', 'b', 'c'])
    storage.append([{ index: 2, term: 3, kind: 'normal', data: text('x') }])
    storage.setHardState({ term: 3, vote: null, commit: 1 })
    const core = new RaftCore({ id: 'a', random: () => 0 }, storage)
    core.step({ type: 'vote', from: 'b', to: 'a', term: 4, lastIndex: 5, lastTerm: 2, transfer: false })
    expect(drain(core, storage)).toEqual([{ type: 'voteResp', from: 'a', to: 'b', term: 4, reject: true }])
  })
})

describe('pre-vote (thesis §9.6)', () => {
  it('keeps a partitioned node from inflating its term and disrupting the leader on return', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.isolate('n3')
    c.tick('n3', 100)
    c.stabilize()
    expect(c.core('n3').hardState().term).toBe(2)
    c.heal()
    c.tickAll(3)
    c.stabilize()
    expect(c.core('n1').softState().role).toBe('leader')
    expect(c.core('n1').hardState().term).toBe(2)
  })

  it('without pre-vote, the same partition inflates the term and deposes the leader', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'], { preVote: false, checkQuorum: false })
    c.campaign('n1')
    c.isolate('n3')
    c.tick('n3', 100)
    c.stabilize()
    expect(c.core('n3').hardState().term).toBeGreaterThan(10)
    c.heal()
    c.tickAll(10)
    c.stabilize()
    expect(c.core('n1').hardState().term).toBeGreaterThan(10)
  })
})

describe('simultaneous pre-candidates', () => {
  it('only the better one (lower id on a tie) gets the other’s pre-vote, so they cannot split the vote', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.crash('n1')
    for (let i = 0; i < 9; i++) {
      c.tick('n2')
      c.tick('n3')
    }
    expect(c.core('n2').softState().role).toBe('preCandidate')
    expect(c.core('n3').softState().role).toBe('preCandidate')
    c.stabilize()
    expect(c.core('n2').softState()).toEqual({ leader: 'n2', role: 'leader' })
    expect(c.core('n3').softState()).toEqual({ leader: 'n2', role: 'follower' })
  })
})

describe('check-quorum and the leader lease (thesis §6.2)', () => {
  it('a leader that hears from no quorum for electionTicks steps down', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.isolate('n1')
    c.tick('n1', 16)
    expect(c.core('n1').softState().role).toBe('follower')
    expect(c.lines.some((l) => l.startsWith('n1 stepped down at term 2'))).toBe(true)
  })

  it('a follower that hears from a live leader ignores a higher-term vote request', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    const n2 = c.core('n2')
    n2.step({ type: 'preVote', from: 'n3', to: 'n2', term: 3, lastIndex: 99, lastTerm: 2 })
    n2.step({ type: 'vote', from: 'n3', to: 'n2', term: 3, lastIndex: 99, lastTerm: 2, transfer: false })
    expect(n2.hasReady()).toBe(false)
    expect(n2.hardState().term).toBe(2)
  })
})

describe('a closed connection to the leader (leaderLost)', () => {
  it('makes a follower campaign within heartbeatTicks + 1 ticks', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.crash('n1')
    c.core('n2').leaderLost('n1')
    c.drive('n2')
    expect(c.core('n2').softState()).toEqual({ leader: null, role: 'follower' })
    c.tick('n2', 3)
    expect(c.core('n2').softState().role).not.toBe('follower')
  })

  it('is harmless when the leader is alive: pre-vote fails, the term stays, the leader stays', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.core('n3').leaderLost('n1')
    c.drive('n3')
    for (let i = 0; i < 3; i++) {
      c.tick('n3')
      c.stabilize()
    }
    c.tickAll(4)
    c.stabilize()
    expect(c.core('n1').softState()).toEqual({ leader: 'n1', role: 'leader' })
    expect(c.core('n3').softState()).toEqual({ leader: 'n1', role: 'follower' })
    expect(c.core('n1').hardState().term).toBe(2)
  })

  it('is ignored when the peer is not this node\'s leader', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.core('n2').leaderLost('n3')
    expect(c.core('n2').hasReady()).toBe(false)
    expect(c.core('n2').softState()).toEqual({ leader: 'n1', role: 'follower' })
  })
})

describe('log replication (Raft §5.3)', () => {
  it('commits on a majority and applies in order everywhere', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.isolate('n3')
    for (const w of ['a', 'b', 'c']) c.propose('n1', w)
    expect(c.writes('n2')).toEqual(['a', 'b', 'c'])
    expect(c.writes('n3')).toEqual([])
    c.heal()
    c.tick('n1', 2)
    c.stabilize()
    expect(c.writes('n3')).toEqual(['a', 'b', 'c'])
  })

  it('tells a follower that holds the whole log the new commit index in a notice it does not answer; a lost notice is made up by the next heartbeat', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.isolate('n3')
    const sent = (id: string): Message[] => c.node(id).readys.flatMap((rd) => rd.messages)
    const since = { n1: sent('n1').length, n2: sent('n2').length }
    c.propose('n1', 'a')
    expect(c.writes('n2')).toEqual(['a'])
    expect(sent('n1').slice(since.n1).filter((m) => m.to === 'n2').map((m) => m.type)).toEqual(['append', 'commit'])
    expect(sent('n2').slice(since.n2).map((m) => m.type)).toEqual(['appendResp'])

    c.drop = (m) => m.type === 'commit'
    c.propose('n1', 'b')
    expect(c.writes('n2')).toEqual(['a'])
    c.tick('n1', 2)
    c.stabilize()
    expect(c.writes('n2')).toEqual(['a', 'b'])
  })

  it('repairs a deposed leader’s divergent log after a leader change', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.propose('n1', 'shared')
    c.isolate('n1')
    c.core('n1').propose(text('lost-1'))
    c.core('n1').propose(text('lost-2'))
    c.stabilize()
    c.campaign('n2')
    expect(c.core('n2').softState().role).toBe('leader')
    c.propose('n2', 'kept')
    c.heal()
    c.tickAll(20)
    c.stabilize()
    const n1 = c.core('n1').status()
    const n2 = c.core('n2').status()
    expect(n1.lastIndex).toBe(n2.lastIndex)
    for (let i = n1.firstIndex; i <= n1.lastIndex; i++) expect(c.core('n1').termAt(i)).toBe(c.core('n2').termAt(i))
    expect(c.writes('n1')).toEqual(['shared', 'kept'])
  })

  it('commits only entries of the current term by counting replicas (§5.4.2)', () => {
    const storage = MemoryStorage.bootstrap(['a', 'b', 'c'])
    storage.append([{ index: 2, term: 2, kind: 'normal', data: text('old') }])
    storage.setHardState({ term: 2, vote: null, commit: 1 })
    const core = new RaftCore({ id: 'a', random: () => 0, preVote: false }, storage)
    for (let i = 0; i < 9; i++) core.tick()
    expect(core.softState().role).toBe('candidate')
    core.step({ type: 'voteResp', from: 'b', to: 'a', term: 3, reject: false })
    expect(core.softState().role).toBe('leader')
    drain(core, storage)
    const ack = (index: number): void =>
      core.step({ type: 'appendResp', from: 'b', to: 'a', term: 3, index, reject: false, hintIndex: 0, hintTerm: 0 })
    ack(2)
    expect(core.status().commit).toBe(1)
    ack(3)
    expect(core.status().commit).toBe(3)
  })

  it('keeps at most maxInflightAppends appends in flight to a silent follower', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'], { maxInflightAppends: 3 })
    c.campaign('n1')
    c.cut('n1', 'n3')
    const leader = c.core('n1')
    const before = c.node('n1').readys.length
    for (let i = 0; i < 20; i++) {
      leader.propose(text(`w${i}`))
      c.drive('n1')
    }
    const sentToN3 = c
      .node('n1')
      .readys.slice(before)
      .flatMap((rd) => rd.messages)
      .filter((m) => m.to === 'n3' && m.type === 'append')
    expect(sentToN3.length).toBe(3)
    expect(leader.status().peers.get('n3')).toMatchObject({ state: 'replicate', inflight: 3 })
  })

  it('tells a proposer on a follower where the leader is', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    expect(() => c.core('n2').propose(text('x'))).toThrow(NotLeaderError)
    try {
      c.core('n2').propose(text('x'))
    } catch (err) {
      expect((err as NotLeaderError).leader).toBe('n1')
    }
  })
})

describe('log compaction and snapshot install (Raft §7)', () => {
  it('sends a snapshot to a follower that needs compacted entries', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.snapshotEvery = 5
    c.campaign('n1')
    c.isolate('n3')
    for (let i = 0; i < 12; i++) c.propose('n1', `w${i}`)
    expect(c.node('n1').storage.firstIndex()).toBeGreaterThan(3)
    c.heal()
    c.tick('n1', 2)
    c.stabilize()
    const restored = c.node('n3').readys.find((rd) => rd.snapshot !== undefined)
    expect(restored?.snapshot?.index).toBeGreaterThan(3)
    expect(c.lines.some((l) => l.startsWith('n3 restoring snapshot'))).toBe(true)
    expect(c.core('n3').status().commit).toBe(c.core('n1').status().commit)
  })
})

describe('lost snapshots', () => {
  const lagging = (): TestCluster => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.snapshotEvery = 5
    c.campaign('n1')
    c.isolate('n3')
    for (let i = 0; i < 12; i++) c.propose('n1', `w${i}`)
    c.heal()
    c.drop = (m) => m.type === 'snapshot'
    c.tickAll(2)
    expect(c.core('n1').status().peers.get('n3')?.state).toBe('snapshot')
    c.drop = undefined
    return c
  }

  it('are sent again at once when the driver reports the failure', () => {
    const c = lagging()
    c.core('n1').reportSnapshot('n3', 'failed')
    c.tickAll(2)
    expect(c.core('n3').status().commit).toBe(c.core('n1').status().commit)
  })

  it('are sent again after three election timeouts when nobody reports anything', () => {
    const c = lagging()
    c.tickAll(20)
    expect(c.core('n1').status().peers.get('n3')?.state).toBe('snapshot')
    c.tickAll(4)
    expect(c.core('n1').status().peers.get('n3')?.state).toBe('replicate')
    expect(c.core('n3').status().commit).toBe(c.core('n1').status().commit)
  })
})

describe('membership changes, one server at a time (thesis §4.1–4.2)', () => {
  it('adds a learner that does not vote, promotes it once caught up, and counts it afterwards', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    for (let i = 0; i < 4; i++) c.propose('n1', `w${i}`)
    c.start('n4')
    c.cut('n1', 'n4')
    c.core('n1').proposeMembershipChange({ kind: 'addLearner', node: 'n4' })
    c.stabilize()
    expect(c.core('n1').membership()).toEqual({ voters: ['n1', 'n2', 'n3'], learners: ['n4'] })
    expect(() => c.core('n1').proposeMembershipChange({ kind: 'promote', node: 'n4' })).toThrow(ProposalDroppedError)
    // A learner never campaigns.
    c.tick('n4', 50)
    expect(c.core('n4').softState().role).toBe('follower')
    c.heal()
    c.tick('n1', 2)
    c.stabilize()
    expect(c.writes('n4')).toEqual(c.writes('n1'))
    expect(c.core('n4').status().commit).toBe(c.core('n1').status().commit)
    c.core('n1').proposeMembershipChange({ kind: 'promote', node: 'n4' })
    c.stabilize()
    expect(c.core('n4').membership()).toEqual({ voters: ['n1', 'n2', 'n3', 'n4'], learners: [] })
    // With four voters a quorum is three: n1 and n2 alone can no longer commit.
    c.isolate('n3')
    c.isolate('n4')
    const before = c.core('n1').status().commit
    c.propose('n1', 'needs-three')
    expect(c.core('n1').status().commit).toBe(before)
  })

  it('allows one change at a time and refuses impossible ones', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    const leader = c.core('n1')
    expect(() => leader.proposeMembershipChange({ kind: 'promote', node: 'n9' })).toThrow(MembershipChangeError)
    expect(() => leader.proposeMembershipChange({ kind: 'addLearner', node: 'n2' })).toThrow(MembershipChangeError)
    c.isolate('n1')
    leader.proposeMembershipChange({ kind: 'addLearner', node: 'n4' })
    expect(() => leader.proposeMembershipChange({ kind: 'remove', node: 'n3' })).toThrow(ProposalDroppedError)
  })

  it('removes a voter, and a removed leader steps down', () => {
    const c = new TestCluster(['n1', 'n2', 'n3', 'n4'])
    c.campaign('n1')
    c.core('n1').proposeMembershipChange({ kind: 'remove', node: 'n4' })
    c.stabilize()
    expect(c.core('n2').membership().voters).toEqual(['n1', 'n2', 'n3'])
    c.core('n1').proposeMembershipChange({ kind: 'remove', node: 'n1' })
    c.stabilize()
    expect(c.core('n1').softState().role).toBe('follower')
    expect(c.lines).toContain('n1 stepped down at term 2: no longer a voter')
    c.campaign('n2')
    expect(c.core('n2').softState().role).toBe('leader')
    c.propose('n2', 'after')
    expect(c.writes('n3')).toContain('after')
  })
})

describe('leadership transfer (thesis §3.10)', () => {
  it('hands over to a caught-up voter without waiting for a timeout, refusing proposals meanwhile', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.cut('n1', 'n3')
    c.propose('n1', 'w')
    c.core('n1').transferLeadership('n3')
    expect(() => c.core('n1').propose(text('x'))).toThrow(ProposalDroppedError)
    c.heal()
    c.tick('n1', 2)
    c.stabilize()
    expect(c.core('n3').softState()).toEqual({ leader: 'n3', role: 'leader' })
    expect(c.core('n1').softState()).toEqual({ leader: 'n3', role: 'follower' })
    expect(c.core('n3').hardState().term).toBe(3)
    expect(() => c.core('n3').transferLeadership('n9')).toThrow(LeadershipTransferError)
  })

  it('abandons a transfer the target never completes', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.cut('n1', 'n3')
    c.core('n1').transferLeadership('n3')
    c.tick('n1', 8)
    c.stabilize()
    expect(c.core('n1').status().transferringTo).toBeNull()
    c.propose('n1', 'accepted again')
    expect(c.writes('n2')).toContain('accepted again')
  })
})

describe('restart from durable state', () => {
  it('keeps term, vote and log, and re-applies committed entries', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.propose('n1', 'a')
    c.restart('n2')
    expect(c.core('n2').hardState()).toMatchObject({ term: 2, vote: 'n1' })
    c.stabilize()
    expect(c.writes('n2')).toEqual(['a'])
  })
})

describe('restart with an application state newer than the snapshot', () => {
  it('re-applies membership entries up to `applied`, which are not delivered again', () => {
    const c = new TestCluster(['n1', 'n2', 'n3'])
    c.campaign('n1')
    c.start('n4')
    c.core('n1').proposeMembershipChange({ kind: 'addLearner', node: 'n4' })
    c.stabilize()
    const { storage } = c.node('n2')
    const applied = c.core('n2').status().applied
    const core = new RaftCore({ id: 'n2', random: () => 0, applied }, storage)
    expect(core.membership()).toEqual({ voters: ['n1', 'n2', 'n3'], learners: ['n4'] })
    expect(core.hasReady()).toBe(false)
  })
})

describe('the Ready/advance contract', () => {
  it('refuses ready() twice without advance(), and advance() without ready()', () => {
    const core = new RaftCore({ id: 'a', random: () => 0 }, MemoryStorage.bootstrap(['a']))
    expect(() => core.advance()).toThrow(CallOrderError)
    core.tick()
    for (let i = 0; i < 9; i++) core.tick()
    expect(core.softState().role).toBe('leader')
    core.ready()
    expect(core.hasReady()).toBe(false)
    expect(() => core.ready()).toThrow(CallOrderError)
    core.advance()
  })

  it('a single voter commits its own proposals, reported in committedEntries after persistence', () => {
    const storage = MemoryStorage.bootstrap(['a'])
    const core = new RaftCore({ id: 'a', random: () => 0 }, storage)
    for (let i = 0; i < 9; i++) core.tick()
    drain(core, storage)
    const ticket = core.propose(text('x'))
    const rd = core.ready()
    expect(rd.entries.map((e) => e.index)).toEqual([ticket.index])
    expect(rd.committedEntries.map((e) => [e.index, e.term])).toEqual([[ticket.index, ticket.term]])
    expect(rd.hardState?.commit).toBe(ticket.index)
    core.advance()
  })
})
