import { CompactedError, UnavailableError } from './errors.js'
import type { Entry, HardState, Membership, Snapshot } from './types.js'

export interface InitialState {
  readonly hardState: HardState
  /** Membership of the latest snapshot; the core re-applies membership entries after it as they are applied again. */
  readonly membership: Membership
}

/**
 * The core's read view of the durable log, owned and written by the driver. Calls are synchronous: a
 * driver on an async store keeps the tail of the log in memory. Entries returned are never mutated.
 */
export interface LogStorage {
  /** Called once, when the core is constructed. */
  initialState(): InitialState
  /**
   * Entries in [lo, hi), stopping once their payloads exceed maxBytes (but always at least one entry).
   * Throws CompactedError if lo < firstIndex(), UnavailableError if hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes: number): readonly Entry[]
  /**
   * Term of entry `index` for index in [firstIndex() - 1, lastIndex()]; firstIndex() - 1 answers the
   * term of the last compacted entry (the snapshot's). Throws CompactedError below, UnavailableError above.
   */
  term(index: number): number
  /** Index of the first entry still stored (snapshot index + 1 when the log is empty). */
  firstIndex(): number
  /** Index of the last stored entry (the snapshot index when the log is empty). */
  lastIndex(): number
  /** The latest snapshot. Throws SnapshotUnavailableError while the application is still producing one. */
  snapshot(): Snapshot
}

const NO_MEMBERSHIP: Membership = { voters: [], learners: [] }

/** Entries above `snapshot.index`, plus write methods the driver calls while handling a Ready. */
export class MemoryStorage implements LogStorage {
  private hard: HardState = { term: 0, vote: null, commit: 0 }
  private snap: Snapshot
  // Invariant: ents[i].index === compactedIndex + 1 + i, and compactedIndex <= snap.index.
  private ents: Entry[] = []
  private compactedIndex: number
  private compactedTerm: number

  /** An empty log: what a node joining an existing cluster starts with. */
  constructor(snapshot: Snapshot = { index: 0, term: 0, membership: NO_MEMBERSHIP, data: new Uint8Array(0) }) {
    this.snap = snapshot
    this.compactedIndex = snapshot.index
    this.compactedTerm = snapshot.term
    this.hard = { term: snapshot.term, vote: null, commit: snapshot.index }
  }

  /**
   * The initial voters' storage: a snapshot at index 1, term 1 holding the membership and `data`
   * (the empty application state). Joining nodes start empty and receive it by snapshot install.
   */
  static bootstrap(voters: readonly string[], data: Uint8Array = new Uint8Array(0)): MemoryStorage {
    return new MemoryStorage({ index: 1, term: 1, membership: { voters: [...voters].sort(), learners: [] }, data })
  }

  initialState(): InitialState {
    return { hardState: this.hard, membership: this.snap.membership }
  }

  hardState(): HardState {
    return this.hard
  }

  firstIndex(): number {
    return this.compactedIndex + 1
  }

  lastIndex(): number {
    return this.compactedIndex + this.ents.length
  }

  term(index: number): number {
    if (index < this.compactedIndex) throw new CompactedError(index, this.firstIndex())
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex())
    if (index === this.compactedIndex) return this.compactedTerm
    return this.ents[index - this.compactedIndex - 1]!.term
  }

  entries(lo: number, hi: number, maxBytes: number): readonly Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex())
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1, this.lastIndex())
    return limitSize(this.ents.slice(lo - this.compactedIndex - 1, hi - this.compactedIndex - 1), maxBytes)
  }

  snapshot(): Snapshot {
    return this.snap
  }

  setHardState(hardState: HardState): void {
    this.hard = hardState
  }

  /** Appends contiguous entries, first dropping every stored entry at index >= entries[0].index. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const first = entries[0]!.index
    if (first > this.lastIndex() + 1) throw new UnavailableError(first, this.lastIndex())
    const kept = entries.filter((e) => e.index > this.compactedIndex)
    if (kept.length === 0) return
    const keep = kept[0]!.index - this.compactedIndex - 1
    if (keep < this.ents.length) this.ents.length = keep
    for (const e of kept) this.ents.push(e)
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    if (snapshot.index <= this.snap.index) return
    this.snap = snapshot
    this.ents = []
    this.compactedIndex = snapshot.index
    this.compactedTerm = snapshot.term
    if (this.hard.commit < snapshot.index) this.hard = { ...this.hard, commit: snapshot.index }
  }

  /** Records application state at `index` (already applied) so a leader can send it to far-behind peers. */
  createSnapshot(index: number, membership: Membership, data: Uint8Array): Snapshot {
    if (index <= this.snap.index) return this.snap
    this.snap = { index, term: this.term(index), membership, data }
    return this.snap
  }

  /** Drops entries up to and including `index`, which must not pass the latest snapshot. */
  compact(index: number): void {
    if (index <= this.compactedIndex) return
    if (index > this.snap.index) throw new RangeError(`cannot compact past the latest snapshot (${index} > ${this.snap.index})`)
    const term = this.term(index)
    this.ents = this.ents.slice(index - this.compactedIndex)
    this.compactedIndex = index
    this.compactedTerm = term
  }
}

/** The longest prefix whose payloads fit in maxBytes, but never fewer than one entry. */
export function limitSize(entries: readonly Entry[], maxBytes: number): readonly Entry[] {
  let size = 0
  for (let i = 0; i < entries.length; i++) {
    size += entries[i]!.data.length
    if (i > 0 && size > maxBytes) return entries.slice(0, i)
  }
  return entries
}
