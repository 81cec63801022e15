import { CompactedError, UnavailableError } from './errors.js'
import type { LogStorage } from './storage.js'
import { limitSize } from './storage.js'
import type { Entry, Snapshot } from './types.js'

/**
 * The log as the core sees it: durable entries in storage plus an unstable tail (and possibly a
 * snapshot) the driver has not yet persisted.
 */
export class RaftLog {
  // Invariant: unstable[i].index === offset + i; entries at index >= offset shadow storage.
  private unstable: Entry[] = []
  private offset: number
  private unstableSnapshot: Snapshot | undefined
  // Invariant: applied <= committed <= lastIndex().
  committed: number
  applied: number

  constructor(
    private readonly storage: LogStorage,
    committed: number,
    applied: number
  ) {
    this.offset = storage.lastIndex() + 1
    this.committed = committed
    this.applied = applied
  }

  firstIndex(): number {
    return this.unstableSnapshot ? this.unstableSnapshot.index + 1 : this.storage.firstIndex()
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.offset + this.unstable.length - 1
    return this.unstableSnapshot ? this.unstableSnapshot.index : this.storage.lastIndex()
  }

  lastTerm(): number {
    return this.term(this.lastIndex())
  }

  /** Throws CompactedError below firstIndex() - 1 and UnavailableError past lastIndex(). */
  term(index: number): number {
    if (index >= this.offset && index <= this.lastIndex()) return this.unstable[index - this.offset]!.term
    if (this.unstableSnapshot) {
      if (index === this.unstableSnapshot.index) return this.unstableSnapshot.term
      if (index < this.unstableSnapshot.index) throw new CompactedError(index, this.firstIndex())
      throw new UnavailableError(index, this.lastIndex())
    }
    if (index > this.lastIndex()) throw new UnavailableError(index, this.lastIndex())
    return this.storage.term(index)
  }

  matchTerm(index: number, term: number): boolean {
    if (index > this.lastIndex() || index < this.firstIndex() - 1) return false
    try {
      return this.term(index) === term
    } catch (err) {
      if (err instanceof CompactedError || err instanceof UnavailableError) return false
      throw err
    }
  }

  /** Raft §5.4.1: a log is at least as up to date if its last term is higher, or equal with a longer log. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm()
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex())
  }

  /** Entries in [lo, lastIndex()] within maxBytes (at least one). Throws CompactedError if lo < firstIndex(). */
  entries(lo: number, maxBytes: number, hi: number = this.lastIndex() + 1): readonly Entry[] {
    if (lo >= hi) return []
    if (lo < this.firstIndex()) throw new CompactedError(lo, this.firstIndex())
    const fromStorage = lo < this.offset ? this.storage.entries(lo, Math.min(hi, this.offset), maxBytes) : []
    if (hi <= this.offset || (fromStorage.length > 0 && fromStorage.at(-1)!.index < this.offset - 1)) return fromStorage
    const tail = this.unstable.slice(Math.max(lo, this.offset) - this.offset, hi - this.offset)
    return limitSize(fromStorage.length > 0 ? [...fromStorage, ...tail] : tail, maxBytes)
  }

  /** Appends after truncating any conflicting suffix. Callers never truncate committed entries. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return
    const first = entries[0]!.index
    if (first <= this.committed) throw new Error(`refusing to overwrite committed entry ${first} (commit ${this.committed})`)
    if (first === this.offset + this.unstable.length) {
      this.unstable.push(...entries)
    } else if (first <= this.offset) {
      // Storage still holds entries >= first; the driver drops them when it persists these.
      this.offset = first
      this.unstable = [...entries]
    } else {
      this.unstable = [...this.unstable.slice(0, first - this.offset), ...entries]
    }
  }

  /**
   * Raft §5.3 receiver rule: if our entry at prevIndex has prevTerm, append `entries` (dropping any we
   * already have, truncating at the first conflict) and return the index of the last new entry; else null.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: readonly Entry[]): number | null {
    if (!this.matchTerm(prevIndex, prevTerm)) return null
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!
      if (!this.matchTerm(e.index, e.term)) {
        this.append(entries.slice(i))
        break
      }
    }
    return prevIndex + entries.length
  }

  /**
   * For a rejected append: the largest index <= `index` whose term is <= `term`, and that term, so the
   * leader can skip a whole conflicting term per round trip.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = index; i > 0; i--) {
      let ours: number
      try {
        ours = this.term(i)
      } catch {
        return [i, 0]
      }
      if (ours <= term) return [i, ours]
    }
    return [0, 0]
  }

  commitTo(index: number): void {
    if (index <= this.committed) return
    if (index > this.lastIndex()) throw new Error(`commit ${index} is past the last index ${this.lastIndex()}`)
    this.committed = index
  }

  appliedTo(index: number): void {
    if (index > this.applied) this.applied = index
  }

  unstableEntries(): readonly Entry[] {
    return this.unstable
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.unstableSnapshot
  }

  /** Committed entries the application has not been handed yet (none while a snapshot is pending). */
  nextCommitted(): readonly Entry[] {
    if (this.unstableSnapshot || this.applied >= this.committed) return []
    return this.entries(this.applied + 1, Number.POSITIVE_INFINITY, this.committed + 1)
  }

  hasNextCommitted(): boolean {
    return !this.unstableSnapshot && this.applied < this.committed
  }

  /** The driver persisted entries up to `index`; forget them unless they were overwritten since. */
  stableTo(index: number, term: number): void {
    if (index < this.offset || !this.matchTerm(index, term)) return
    this.unstable = this.unstable.slice(index + 1 - this.offset)
    this.offset = index + 1
  }

  stableSnapshotTo(index: number): void {
    if (this.unstableSnapshot?.index === index) this.unstableSnapshot = undefined
  }

  snapshot(): Snapshot {
    return this.unstableSnapshot ?? this.storage.snapshot()
  }

  /** Replaces the whole log with a snapshot from the leader. */
  restore(snapshot: Snapshot): void {
    this.committed = snapshot.index
    this.unstableSnapshot = snapshot
    this.unstable = []
    this.offset = snapshot.index + 1
  }
}
