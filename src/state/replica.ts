import { EventEmitter } from 'node:events'
import type { PrivateKey } from '@libp2p/interface'
import { InvalidCommandError, parseCommand, type StampedCommand } from './commands.js'
import { entryHash, type SignedEntry, signEntry, verifyEntrySignature } from './entry.js'
import { recordAudit } from './admin.js'
import { type ApplyResult, applyCommand } from './machine.js'
import type { StateRecord, StateStore, WriteOp } from './store.js'
import { HEAD_KEY, stateFromRecords } from './store.js'
import type { PlatformState, RaftCursor } from './types.js'

/** Why an offered entry was not applied. `stale` and `gap` are normal; the others mean a bad sender. */
export type Rejection = 'stale' | 'gap' | 'broken-chain' | 'not-a-writer' | 'bad-signature' | 'bad-command' | 'wrong-platform'

export type OfferOutcome = { readonly applied: true, readonly result: ApplyResult } | { readonly applied: false, readonly reason: Rejection }

/** This node's log disagrees with the writer set's: it must stop rather than serve wrong state. */
export class DivergenceError extends Error {
  static override name = 'DivergenceError'
  override name = 'DivergenceError'
}

export interface ReplicaEvents {
  applied: [entry: SignedEntry, command: StampedCommand, result: ApplyResult]
  /** The whole state was replaced by a snapshot's, at `revision`. */
  installed: [revision: number]
}

/**
 * The node's copy of the platform state. Entries are applied strictly in order, one at a time, each
 * checked (hash chain, writer signature, command shape) and persisted before the in-memory state
 * moves on. Entries committed by this node's writer set go through `applyCommitted`, entries
 * received from the mesh through `offer`.
 */
/** How many applied results a replica keeps for its writer set's replies (a gossiped entry is at most seconds ahead). */
const RECENT_RESULTS = 1024

export class Replica extends EventEmitter<ReplicaEvents> {
  private queue: Promise<unknown> = Promise.resolve()
  private readonly waiters = new Map<number, Array<() => void>>()
  /**
   * The results of the last entries applied, by revision: when a writer's own committed entry reached
   * this node first by gossip, the writer still answers its client with the command's result.
   */
  private readonly recentResults = new Map<number, ApplyResult>()

  constructor(
    readonly state: PlatformState,
    private readonly store: StateStore,
    /** The platform this node belongs to; the first entry must create exactly this one. */
    private readonly platformId: string
  ) {
    super()
  }

  get revision(): number {
    return this.state.revision
  }

  /**
   * Checks and applies one entry received from anywhere. Serialized with every other write.
   * `signatureVerified`: the caller already checked the signature (gossip's validator did).
   */
  offer(entry: SignedEntry, signatureVerified = false): Promise<OfferOutcome> {
    return this.serialize(() => this.applyChecked(entry, signatureVerified))
  }

  /**
   * Applies what the writer set committed at consensus index `index` (`payload` undefined for entries
   * that carry no command). The next revision is signed by this node, a writer, and applied; a
   * revision that already arrived by gossip must hold the same command, or the logs have diverged.
   */
  applyCommitted(index: number, payload: string | undefined, key: PrivateKey, self: string): Promise<{ revision?: number, result?: ApplyResult, entry?: SignedEntry }> {
    return this.serialize(async () => {
      const cursor = this.state.raft ?? { index: 0, revision: 0 }
      if (index <= cursor.index) return {}
      if (payload === undefined) {
        this.state.raft = { index, revision: cursor.revision }
        return {}
      }
      const revision = cursor.revision + 1
      if (revision <= this.state.revision) {
        const stored = await this.store.getEntry(revision)
        if (stored && stored.payload !== payload) {
          throw new DivergenceError(`revision ${revision} holds a different command here than the writer set committed`)
        }
        this.state.raft = { index, revision }
        const result = this.recentResults.get(revision)
        return result ? { revision, result } : { revision }
      }
      this.state.raft = { index, revision }
      const entry = await signEntry({ revision, prevHash: this.state.headHash, payload }, key, self)
      // Signed here a moment ago: checking the signature again would only cost time on every write.
      const outcome = await this.applyChecked(entry, true)
      if (!outcome.applied) throw new DivergenceError(`the committed entry for revision ${revision} was refused here: ${outcome.reason}`)
      return { revision, result: outcome.result, entry }
    })
  }

  /** Sets where the writer set's log starts for this node (after installing its snapshot). */
  setRaftCursor(index: number, revision: number): void {
    this.state.raft = { index, revision }
  }

  /**
   * Replaces the state with a verified snapshot's records, unless this node already holds that
   * revision or a later one. `raft`: the writer set's cursor to keep with it (by default this node's
   * own: the consensus log maps to the same revisions whatever state it starts from); `extraOps` are written
   * in the same batch (a full node's consensus snapshot), so a crash never separates the two.
   * Returns whether the state was replaced.
   */
  installSnapshot(records: readonly StateRecord[], revision: number, raft: RaftCursor | undefined, extraOps: readonly WriteOp[] = []): Promise<boolean> {
    return this.serialize(async () => {
      if (revision <= this.state.revision) {
        if (raft) this.state.raft = raft
        await this.store.write([...extraOps, ...(raft ? [this.store.headOp(this.state)] : [])], true)
        return false
      }
      const cursor = raft ?? this.state.raft
      const withCursor = records.map(([key, value]): StateRecord => (key === HEAD_KEY && cursor ? [key, { ...(value as object), raft: cursor }] : [key, value]))
      await this.store.replaceState(withCursor, revision, Date.now(), extraOps)
      // Swapped in place (the services hold this object), from the records just written: reading them back would parse them twice.
      Object.assign(this.state, stateFromRecords(withCursor))
      this.emit('installed', revision)
      for (const [waited, list] of this.waiters) {
        if (waited > revision) continue
        this.waiters.delete(waited)
        for (const resolve of list) resolve()
      }
      return true
    })
  }

  /** Resolves once this node has applied `revision` (read-your-writes for callers). */
  waitFor(revision: number, signal?: AbortSignal): Promise<void> {
    if (this.state.revision >= revision) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(revision) ?? []
      list.push(resolve)
      this.waiters.set(revision, list)
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn)
    this.queue = run.catch(() => undefined)
    return run
  }

  private async applyChecked(entry: SignedEntry, signatureVerified = false): Promise<OfferOutcome> {
    const state = this.state
    if (entry.revision <= state.revision) return { applied: false, reason: 'stale' }
    if (entry.revision > state.revision + 1) return { applied: false, reason: 'gap' }
    if (entry.prevHash !== state.headHash) return { applied: false, reason: 'broken-chain' }
    let command: StampedCommand
    try {
      command = parseCommand(JSON.parse(entry.payload))
    } catch (err) {
      if (err instanceof SyntaxError || err instanceof InvalidCommandError) return { applied: false, reason: 'bad-command' }
      throw err
    }
    if (entry.revision === 1) {
      // The genesis entry names the first writer: it must create our platform and be signed by its founder.
      if (command.kind !== 'platform.create' || command.id !== this.platformId) return { applied: false, reason: 'wrong-platform' }
      if (entry.signer !== command.founder.peerId) return { applied: false, reason: 'not-a-writer' }
    } else if (!state.writers.includes(entry.signer)) {
      return { applied: false, reason: 'not-a-writer' }
    }
    if (!signatureVerified && !(await verifyEntrySignature(entry))) return { applied: false, reason: 'bad-signature' }

    const { result, changes } = applyCommand(state, command)
    const audited = recordAudit(state, command, result.ok)
    state.revision = entry.revision
    state.headHash = entryHash(entry)
    // A failed write leaves memory ahead of disk: the node must stop and restart from disk.
    await this.store.commit(entry, state, [...changes, ...audited])
    this.recentResults.set(entry.revision, result)
    for (const oldest of this.recentResults.keys()) {
      if (this.recentResults.size <= RECENT_RESULTS) break
      this.recentResults.delete(oldest)
    }
    this.emit('applied', entry, command, result)
    const done = this.waiters.get(entry.revision)
    if (done) {
      this.waiters.delete(entry.revision)
      for (const resolve of done) resolve()
    }
    return { applied: true, result }
  }
}
