import { EventEmitter } from 'node:events'
import type { PrivateKey } from '@libp2p/interface'
import { type Command, InvalidCommandError, parseCommand, type StampedCommand } from './commands.js'
import { type CommittedEntry, entryHash, type SignedEntry, signEntry, verifyEntrySignature } from './entry.js'
import { type ApplyResult, applyCommand, checkCommand } from './machine.js'
import type { StateStore } from './store.js'
import type { PlatformState } from './types.js'

/** Why an offered entry was not applied. `stale` and `gap` are normal; the others mean a bad sender. */
export type Rejection = 'stale' | 'gap' | 'broken-chain' | 'not-a-writer' | 'bad-signature' | 'bad-command' | 'wrong-platform'

export type OfferOutcome = { readonly applied: true, readonly result: ApplyResult } | { readonly applied: false, readonly reason: Rejection }

export interface ReplicaEvents {
  applied: [entry: SignedEntry, command: StampedCommand, result: ApplyResult]
}

/**
 * The node's copy of the platform state. Entries are applied strictly in order, one at a time, each
 * checked (hash chain, writer signature, command shape) and persisted before the in-memory state
 * moves on. Both the local writer and entries received from the mesh go through `offer`.
 */
export class Replica extends EventEmitter<ReplicaEvents> {
  private queue: Promise<unknown> = Promise.resolve()
  private readonly waiters = new Map<number, Array<() => void>>()

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

  /** Checks and applies one entry received from anywhere. Serialized with every other write. */
  offer(entry: SignedEntry): Promise<OfferOutcome> {
    return this.serialize(() => this.applyChecked(entry))
  }

  /**
   * Appends a new entry as a writer of the platform: stamps, signs, applies and persists it.
   * A command the state would refuse is answered without entering the log (`entry` undefined).
   */
  append(command: Command, key: PrivateKey, self: string, now: number): Promise<{ entry?: SignedEntry, result: ApplyResult }> {
    return this.serialize(async () => {
      const stamped: StampedCommand = { ...command, at: now, author: self }
      const refused = checkCommand(this.state, stamped)
      if (refused) return { result: refused }
      const payload = JSON.stringify(stamped)
      const unsigned: CommittedEntry = { revision: this.state.revision + 1, prevHash: this.state.headHash, payload }
      const entry = await signEntry(unsigned, key, self)
      const outcome = await this.applyChecked(entry)
      if (!outcome.applied) throw new Error(`local append refused: ${outcome.reason}`)
      return { entry, result: outcome.result }
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

  private async applyChecked(entry: SignedEntry): Promise<OfferOutcome> {
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
    if (!(await verifyEntrySignature(entry))) return { applied: false, reason: 'bad-signature' }

    const { result, changes } = applyCommand(state, command)
    state.revision = entry.revision
    state.headHash = entryHash(entry)
    // A failed write leaves memory ahead of disk: the node must stop and restart from disk.
    await this.store.commit(entry, state, changes)
    this.emit('applied', entry, command, result)
    const done = this.waiters.get(entry.revision)
    if (done) {
      this.waiters.delete(entry.revision)
      for (const resolve of done) resolve()
    }
    return { applied: true, result }
  }
}
