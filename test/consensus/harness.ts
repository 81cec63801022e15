import { decodeMessage, encodeMessage } from '../../src/consensus/codec.js'
import type { RaftConfigInit } from '../../src/consensus/config.js'
import { RaftCore } from '../../src/consensus/raft.js'
import { MemoryStorage } from '../../src/consensus/storage.js'
import type { Entry, Message, NodeId, Ready } from '../../src/consensus/types.js'

export interface TestNode {
  readonly id: NodeId
  storage: MemoryStorage
  core: RaftCore
  /** Every committed entry this incarnation applied, in order. */
  applied: Entry[]
  readys: Ready[]
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s)

/**
 * A lossless in-process network in the style of etcd's raft_test.go `network`: messages queue until
 * `stabilize()`, and `cut`/`isolate`/`heal` drop them. Randomness is fixed so timeouts are exactly
 * electionTicks + 1 ticks. Messages go through the wire codec on the way.
 */
export class TestCluster {
  readonly nodes = new Map<NodeId, TestNode>()
  readonly lines: string[] = []
  private queue: Message[] = []
  private readonly cutLinks = new Set<string>()
  /** When set, messages it matches are lost. */
  drop: ((m: Message) => boolean) | undefined
  /** When set, every node snapshots and compacts once it has applied this many entries past its snapshot. */
  snapshotEvery: number | undefined

  constructor(
    voters: readonly NodeId[],
    private readonly overrides: Partial<RaftConfigInit> = {}
  ) {
    for (const id of voters) this.start(id, MemoryStorage.bootstrap(voters))
  }

  start(id: NodeId, storage: MemoryStorage = new MemoryStorage()): TestNode {
    const core = new RaftCore(
      {
        id,
        random: () => 0,
        logger: { info: (l) => this.lines.push(l), debug: () => {} },
        applied: storage.snapshot().index,
        ...this.overrides
      },
      storage
    )
    const node: TestNode = { id, storage, core, applied: [], readys: [] }
    this.nodes.set(id, node)
    return node
  }

  /** Simulates a crash and restart: only what storage holds survives. */
  restart(id: NodeId): TestNode {
    const old = this.node(id)
    this.queue = this.queue.filter((m) => m.to !== id)
    return this.start(id, old.storage)
  }

  /** Stops a node for good: it no longer ticks and messages to it are dropped. */
  crash(id: NodeId): void {
    this.nodes.delete(id)
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id)
    if (n === undefined) throw new Error(`no node ${id}`)
    return n
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core
  }

  drive(id: NodeId): void {
    const n = this.node(id)
    while (n.core.hasReady()) {
      const rd = n.core.ready()
      n.readys.push(rd)
      if (rd.snapshot) n.storage.applySnapshot(rd.snapshot)
      n.storage.append(rd.entries)
      if (rd.hardState) n.storage.setHardState(rd.hardState)
      for (const m of rd.messages) this.queue.push(decodeMessage(encodeMessage(m)))
      n.applied.push(...rd.committedEntries)
      n.core.advance()
      const applied = n.core.status().applied
      if (this.snapshotEvery !== undefined && applied - n.storage.snapshot().index >= this.snapshotEvery) {
        n.storage.createSnapshot(applied, n.core.membership(), new Uint8Array(0))
        n.storage.compact(applied)
      }
    }
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.core(id).tick()
      this.drive(id)
    }
  }

  /** Ticks every node, delivering all messages after each round (the network is much faster than a tick). */
  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of this.nodes.keys()) this.tick(id)
      this.stabilize()
    }
  }

  /** Delivers messages (and whatever they cause) until none are left. */
  stabilize(): void {
    for (const id of this.nodes.keys()) this.drive(id)
    for (let rounds = 0; this.queue.length > 0; rounds++) {
      if (rounds > 10_000) throw new Error('the cluster does not stabilize')
      const m = this.queue.shift()!
      if (this.cutLinks.has(`${m.from}>${m.to}`) || !this.nodes.has(m.to) || this.drop?.(m)) continue
      this.core(m.to).step(m)
      this.drive(m.to)
    }
  }

  /**
   * Lets the leader leases of the other followers run out (without reaching their own timeout), then
   * ticks `id` until its election timeout fires, and lets the election play out.
   */
  campaign(id: NodeId): void {
    for (const [other, n] of this.nodes) {
      if (other !== id && n.core.softState().role !== 'leader') this.tick(other, n.core.status().membership.voters.length > 0 ? 8 : 0)
    }
    const core = this.core(id)
    for (let i = 0; i < 100 && core.softState().role === 'follower'; i++) this.tick(id)
    this.stabilize()
  }

  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(`${a}>${b}`)
    this.cutLinks.add(`${b}>${a}`)
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other)
  }

  heal(): void {
    this.cutLinks.clear()
  }

  propose(id: NodeId, data: string): void {
    this.core(id).propose(text(data))
    this.stabilize()
  }

  /** Non-empty normal payloads this node applied, as strings. */
  writes(id: NodeId): string[] {
    const dec = new TextDecoder()
    return this.node(id)
      .applied.filter((e) => e.kind === 'normal' && e.data.length > 0)
      .map((e) => dec.decode(e.data))
  }
}
