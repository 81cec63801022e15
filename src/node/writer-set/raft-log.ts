import {
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  type Entry,
  type InitialState,
  type LogStorage,
  type Membership,
  MemoryStorage,
  type Ready,
  type Snapshot
} from '../../consensus/index.js'
import type { StateStore, WriteOp } from '../../state/store.js'

const HARD = 'raft/hard'
const SNAP = 'raft/snap'
const ENTRY = 'raft/entry/'
const entryKey = (index: number): string => `${ENTRY}${String(index).padStart(16, '0')}`
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64')
const bytes = (value: unknown): Uint8Array => new Uint8Array(Buffer.from(String(value), 'base64'))

type Op = WriteOp

/**
 * The consensus log of a full node, durable in the node's LevelDB and mirrored in memory (the core
 * reads synchronously). `persist` writes what a Ready asks before its messages may be sent.
 */
export class DurableRaftLog implements LogStorage {
  /** Log writes made durable with an fsync since the node started (one per Ready that must sync). */
  syncs = 0

  private constructor(private readonly store: StateStore, private readonly memory: MemoryStorage) {}

  /**
   * Loads the log; `bootstrapVoters` creates the first snapshot of a new platform's writer set.
   * `applied`: the last entry the node's state holds, committed by definition; the stored commit
   * index may be older (see `persist`).
   */
  static async open(store: StateStore, bootstrapVoters?: readonly string[], applied = 0): Promise<DurableRaftLog> {
    const snap = await store.get(SNAP)
    if (snap === undefined) {
      const memory = bootstrapVoters ? MemoryStorage.bootstrap(bootstrapVoters) : new MemoryStorage()
      const log = new DurableRaftLog(store, memory)
      if (bootstrapVoters) await store.write([{ type: 'put', key: SNAP, value: b64(encodeSnapshot(memory.snapshot())) }], true)
      return log
    }
    const memory = new MemoryStorage(decodeSnapshot(bytes(snap)))
    const hard = await store.get(HARD)
    if (hard !== undefined) memory.setHardState(decodeHardState(bytes(hard)))
    const entries = (await store.readPrefix(ENTRY)).map(([, v]) => decodeEntry(bytes(v))).filter((e) => e.index > memory.snapshot().index)
    memory.append(entries)
    const stored = memory.hardState()
    const commit = Math.min(memory.lastIndex(), Math.max(stored.commit, memory.snapshot().index, applied))
    if (commit > stored.commit) memory.setHardState({ ...stored, commit })
    return new DurableRaftLog(store, memory)
  }

  /** True when this node has ever been part of the writer set (it has a snapshot). */
  get hasSnapshot(): boolean {
    return this.memory.snapshot().index > 0
  }

  initialState(): InitialState { return this.memory.initialState() }
  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] { return this.memory.entries(lo, hi, maxBytes) }
  term(index: number): number { return this.memory.term(index) }
  firstIndex(): number { return this.memory.firstIndex() }
  lastIndex(): number { return this.memory.lastIndex() }
  snapshot(): Snapshot { return this.memory.snapshot() }

  /**
   * Makes a Ready's snapshot, entries and hard state durable (fsync when it must), in that order. A
   * Ready that only moves the commit index writes nothing: Raft keeps the commit index in memory
   * (a restarted node learns it from the leader, and `open` raises it to what the state applied), and
   * that write would sit on every write's path between commit and apply, on every node.
   */
  async persist(rd: Ready): Promise<void> {
    const ops = await this.prepare(rd)
    if (!rd.mustSync) return
    if (ops.length > 0) this.syncs++
    await this.store.write(ops, true)
  }

  /**
   * The writes that make a Ready durable, for the caller to write in one batch (with the state a
   * snapshot brings); the in-memory log is updated at once.
   */
  async prepare(rd: Ready): Promise<Op[]> {
    const ops: Op[] = []
    if (rd.snapshot) {
      for (const [key] of await this.store.readPrefix(ENTRY)) ops.push({ type: 'del', key })
      ops.push({ type: 'put', key: SNAP, value: b64(encodeSnapshot(rd.snapshot)) })
      this.memory.applySnapshot(rd.snapshot)
    }
    if (rd.entries.length > 0) {
      const previousLast = this.memory.lastIndex()
      this.memory.append(rd.entries)
      for (const e of rd.entries) ops.push({ type: 'put', key: entryKey(e.index), value: b64(encodeEntry(e)) })
      // A new leader's entries may replace a longer tail: drop what is beyond the new last entry.
      for (let i = this.memory.lastIndex() + 1; i <= previousLast; i++) ops.push({ type: 'del', key: entryKey(i) })
    }
    if (rd.hardState) {
      this.memory.setHardState(rd.hardState)
      ops.push({ type: 'put', key: HARD, value: b64(encodeHardState(rd.hardState)) })
    }
    return ops
  }

  /**
   * Compaction: records a snapshot at `index` (applied; `data` says which platform revision it is)
   * and drops the entries up to `index - trailing`, kept for followers slightly behind. Entries
   * above the snapshot index stay until the next compaction, also after a restart.
   */
  async compact(index: number, membership: Membership, data: Uint8Array, trailing: number): Promise<void> {
    if (index <= this.memory.snapshot().index) return
    const snapshot = this.memory.createSnapshot(index, membership, data)
    const upTo = Math.max(this.memory.firstIndex() - 1, index - trailing)
    this.memory.compact(upTo)
    await this.store.write([{ type: 'put', key: SNAP, value: b64(encodeSnapshot(snapshot)) }], true)
    await this.store.clearRange(ENTRY, entryKey(upTo + 1))
  }
}
