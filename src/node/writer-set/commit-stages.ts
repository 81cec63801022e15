/**
 * Where a write's time goes, stage by stage, over the last writes: what `status` shows under
 * `writerSet.commitStages` and what bench/writer-set.js prints as its breakdown. Recording costs one
 * array store per stage; percentiles are computed only when asked.
 */
export const COMMIT_STAGES = [
  /** On the node asked: command checks before the proposal (leader only: parse, veto, state check). */
  'check',
  /** Proposed → the leader starts persisting it (waiting for the Ready loop, e.g. a previous fsync). */
  'queue',
  /** The leader's own log write with fsync (one per Ready, whatever the number of entries in it). */
  'persist',
  /** Persisted on the leader → committed: a quorum's append round trip, each follower's fsync included. */
  'replicate',
  /** Committed → applied on the leader: the hard-state write, signing the revision, the state write. */
  'apply',
  /** On a follower: one Ready's log write with fsync before it acknowledges an append. */
  'followerPersist',
  /** On the node asked: the whole write, from the request to applied here (read-your-writes). */
  'total'
] as const

export type CommitStage = typeof COMMIT_STAGES[number]

export interface StageSummary {
  readonly n: number
  readonly p50: number
  readonly p99: number
}

const WINDOW = 1024

/** The last `WINDOW` durations (ms) of each stage. */
export class CommitStages {
  private readonly samples = new Map<CommitStage, { values: Float64Array, next: number, count: number }>()

  record(stage: CommitStage, ms: number): void {
    let s = this.samples.get(stage)
    if (!s) {
      s = { values: new Float64Array(WINDOW), next: 0, count: 0 }
      this.samples.set(stage, s)
    }
    s.values[s.next] = ms
    s.next = (s.next + 1) % WINDOW
    s.count = Math.min(WINDOW, s.count + 1)
  }

  /** p50 and p99 in ms (rounded to 0.01) of each stage that has samples, in the order of the path. */
  summary(): Partial<Record<CommitStage, StageSummary>> {
    const out: Partial<Record<CommitStage, StageSummary>> = {}
    for (const stage of COMMIT_STAGES) {
      const s = this.samples.get(stage)
      if (!s || s.count === 0) continue
      const sorted = Array.from(s.values.subarray(0, s.count)).sort((a, b) => a - b)
      const at = (p: number): number => Math.round(sorted[Math.min(s.count - 1, Math.ceil((p / 100) * s.count) - 1)]! * 100) / 100
      out[stage] = { n: s.count, p50: at(50), p99: at(99) }
    }
    return out
  }
}
