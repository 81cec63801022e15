import { Level } from 'level'
import { ExitCode, OperatorError } from '../errors.js'
import type { SignedEntry } from './entry.js'
import type { StateChange } from './machine.js'
import { type CollectionName, collections, emptyState, type PlatformInfo, type PlatformState, type RaftCursor } from './types.js'

const LOG = 'log/'
const COLLECTION = 'state/c/'
const PLATFORM = 'state/platform'
const HEAD = 'state/head'
export const HEAD_KEY = HEAD
/** Everything under this prefix is the replicated state a snapshot carries, whatever its record types. */
export const STATE_PREFIX = 'state/'
/** Where this node's platform log starts after compaction (outside the state: local to each node). */
const LOG_BASE = 'meta/log-base'

/** The first revision this node's platform log still holds, and when it was last compacted. */
export interface LogBase {
  /** Entries below this revision were compacted away (1 when nothing was). */
  readonly firstRevision: number
  readonly compactedAt?: number
}

export type WriteOp = { type: 'put', key: string, value: unknown } | { type: 'del', key: string }

/** One record of the state keyspace, as a snapshot carries it. */
export type StateRecord = readonly [key: string, value: unknown]
/** A state record with its value as JSON text. */
export type StateTextRecord = readonly [key: string, json: string]

/** Records read per step when loading the whole state. */
const READ_BATCH = 1000

const logKey = (revision: number): string => `${LOG}${String(revision).padStart(16, '0')}`

/**
 * The platform log and the state applied from it, in one LevelDB. An entry and the records it changed
 * are written in one batch, so after a crash the state on disk is always exactly the state of
 * the log's head.
 */
export class StateStore {
  private constructor(private readonly db: Level<string, unknown>) {}

  static async open(dir: string): Promise<StateStore> {
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' })
    try {
      await db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      if (cause?.code === 'LEVEL_LOCKED') {
        throw new OperatorError('PRYV_DATA_DIR_LOCKED', `The state database in ${dir} is in use by another process.`, {
          hint: 'Another pryv-node is running on this data dir: stop it first, or use another --data-dir.',
          exitCode: ExitCode.environment,
          cause: err
        })
      }
      throw new OperatorError('PRYV_STATE_UNREADABLE', `The state database in ${dir} cannot be opened: ${(cause as Error | undefined)?.message ?? (err as Error).message}.`, {
        hint: 'Check the permissions and free space of the data dir.',
        exitCode: ExitCode.environment,
        cause: err
      })
    }
    return new StateStore(db)
  }

  /** The state on disk. One pass over the state keyspace, read in batches (a record at a time costs a promise each). */
  async loadState(): Promise<PlatformState> {
    const records: StateRecord[] = []
    const iterator = this.db.iterator({ gte: STATE_PREFIX, lt: `${STATE_PREFIX}\xff` })
    try {
      for (let batch = await iterator.nextv(READ_BATCH); batch.length > 0; batch = await iterator.nextv(READ_BATCH)) {
        for (const record of batch) records.push(record)
      }
    } finally {
      await iterator.close()
    }
    return stateFromRecords(records)
  }

  /**
   * Persists an applied entry with the records it changed, atomically. Not fsynced: what a node has
   * applied is always recoverable (a full node re-applies its synced consensus log from the cursor
   * saved here; any node re-fetches entries from members), so an fsync here would only add latency
   * to every write. A process crash loses nothing: LevelDB has handed the batch to the OS.
   */
  async commit(entry: SignedEntry, state: PlatformState, changes: readonly StateChange[]): Promise<void> {
    const ops: Array<{ type: 'put', key: string, value: unknown } | { type: 'del', key: string }> = [{ type: 'put', key: logKey(entry.revision), value: entry }]
    for (const c of changes) {
      if (c.type === 'platform') {
        ops.push({ type: 'put', key: PLATFORM, value: state.platform })
        continue
      }
      const key = `${COLLECTION}${c.type}/${c.id}`
      const value = (collections[c.type](state) as Map<string, unknown>).get(c.id)
      ops.push(value === undefined ? { type: 'del', key } : { type: 'put', key, value })
    }
    ops.push(this.headOp(state))
    await this.db.batch(ops)
  }

  /** The head record of `state` (revision, chain hash, writers, this node's consensus cursor). */
  headOp(state: PlatformState): WriteOp {
    return { type: 'put', key: HEAD, value: { revision: state.revision, hash: state.headHash, zoneRevision: state.zoneRevision, writers: state.writers, raft: state.raft } }
  }

  async getEntry(revision: number): Promise<SignedEntry | undefined> {
    return (await this.db.get(logKey(revision))) as SignedEntry | undefined
  }

  /** Raw records under `prefix` (for the consensus log kept beside the state). */
  async readPrefix(prefix: string): Promise<Array<[string, unknown]>> {
    return this.db.iterator({ gte: prefix, lt: `${prefix}\xff` }).all()
  }

  async get(key: string): Promise<unknown> {
    return this.db.get(key)
  }

  async write(ops: ReadonlyArray<{ type: 'put', key: string, value: unknown } | { type: 'del', key: string }>, sync: boolean): Promise<void> {
    if (ops.length > 0) await this.db.batch([...ops], { sync })
  }

  /** Entries with revision in [from, from + limit). */
  async readEntries(from: number, limit: number): Promise<SignedEntry[]> {
    const out: SignedEntry[] = []
    for await (const [, value] of this.db.iterator({ gte: logKey(from), lt: `${LOG}\xff`, limit })) {
      out.push(value as SignedEntry)
    }
    return out
  }

  async logBase(): Promise<LogBase> {
    return ((await this.db.get(LOG_BASE)) as LogBase | undefined) ?? { firstRevision: 1 }
  }

  /**
   * Drops the platform log's entries below `firstRevision` (the state they produced stays). A range
   * delete, then a compaction of that range: without it, LevelDB keeps the deleted entries and their
   * tombstones on disk until its own compactions reach them (megabytes; bench/compaction-disk.js).
   * Neither blocks reads or writes.
   */
  async compactLog(firstRevision: number, at: number): Promise<void> {
    await this.db.put(LOG_BASE, { firstRevision, compactedAt: at })
    await this.db.clear({ gte: LOG, lt: logKey(firstRevision) })
    await (this.db as unknown as { compactRange(start: string, end: string): Promise<void> }).compactRange(LOG, logKey(firstRevision))
  }

  /**
   * Every record of the state keyspace at one instant: a LevelDB iterator reads from an implicit
   * snapshot taken when it opens, so writes applied meanwhile neither block nor show.
   */
  async exportState(): Promise<StateRecord[]> {
    return this.db.iterator({ gte: STATE_PREFIX, lt: `${STATE_PREFIX}\xff` }).all()
  }

  /** Like exportState, each value as the JSON text it is stored as: a snapshot writes it as is, with no parse. */
  async exportStateText(): Promise<StateTextRecord[]> {
    return this.db.iterator<string, string>({ gte: STATE_PREFIX, lt: `${STATE_PREFIX}\xff`, valueEncoding: 'utf8' }).all()
  }

  /**
   * Replaces the whole state with a snapshot's records and empties the platform log, which now starts
   * after the snapshot's revision. One batch: a crash leaves either the old state or the new one.
   */
  async replaceState(records: readonly StateRecord[], revision: number, at: number, extraOps: readonly WriteOp[] = []): Promise<void> {
    // A chained batch: the array form of batch() costs ~20 times more per record in abstract-level
    // (measured: 300,000 records, 13.6 s against 2.0 s), and it is still one atomic LevelDB write.
    const batch = this.db.batch()
    try {
      for (const op of extraOps) {
        if (op.type === 'put') batch.put(op.key, op.value)
        else batch.del(op.key)
      }
      for await (const key of this.db.keys({ gte: STATE_PREFIX, lt: `${STATE_PREFIX}\xff` })) batch.del(key)
      for await (const key of this.db.keys({ gte: LOG, lt: `${LOG}\xff` })) batch.del(key)
      for (const [key, value] of records) batch.put(key, value)
      batch.put(LOG_BASE, { firstRevision: revision + 1, compactedAt: at })
    } catch (err) {
      await batch.close()
      throw err
    }
    await batch.write({ sync: true })
  }

  /** Deletes the records with keys in [gte, lt) (a range delete: no read, no blocking). */
  async clearRange(gte: string, lt: string): Promise<void> {
    await this.db.clear({ gte, lt })
  }

  async close(): Promise<void> {
    await this.db.close()
  }
}

type HeadRecord = { revision: number, hash: string, writers: string[], raft?: RaftCursor, zoneRevision?: number }

/**
 * The in-memory state that `records` (the state keyspace, in key order, as stored) stand for: what
 * loadState reads from disk, and what a node installing a snapshot holds without reading it back.
 */
export function stateFromRecords(records: readonly StateRecord[]): PlatformState {
  const state = emptyState()
  const head = records.find(([key]) => key === HEAD)?.[1] as HeadRecord | undefined
  if (!head) return state
  state.revision = head.revision
  state.zoneRevision = head.zoneRevision ?? head.revision
  state.headHash = head.hash
  state.writers = head.writers
  if (head.raft) state.raft = head.raft
  // Set even when absent: a state swapped in with Object.assign must not keep the old one's.
  state.platform = undefined
  const maps = new Map<string, Map<string, unknown>>()
  for (const name of Object.keys(collections) as CollectionName[]) maps.set(name, collections[name](state) as Map<string, unknown>)
  for (const [key, value] of records) {
    if (key === PLATFORM) {
      state.platform = value as PlatformInfo
      continue
    }
    if (!key.startsWith(COLLECTION)) continue
    const slash = key.indexOf('/', COLLECTION.length)
    if (slash < 0) continue
    maps.get(key.slice(COLLECTION.length, slash))?.set(key.slice(slash + 1), value)
  }
  return state
}
