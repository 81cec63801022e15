/**
 * When a node compacts its logs. Every `threshold` applied entries, or every `intervalMs` when fewer
 * came (registrations are slow: a count alone may take days), the applied state becomes the new
 * starting point and entries older than the last `trailing` are dropped; the trailing ones let a
 * peer slightly behind catch up with entries rather than a whole snapshot.
 */
export interface CompactionPolicy {
  readonly threshold: number
  readonly trailing: number
  readonly intervalMs: number
}

/** Defaults in line with etcd (10,000 entries, 5,000 kept) plus an hourly time trigger. */
export const DEFAULT_COMPACTION: CompactionPolicy = { threshold: 10_000, trailing: 5_000, intervalMs: 3_600_000 }

/** Where a log stands: its head, the point it was last compacted from, and when. */
export interface LogPosition {
  readonly head: number
  readonly compactedThrough: number
  readonly compactedAt: number
}

/** True when the log should be compacted now. */
export function compactionDue(policy: CompactionPolicy, log: LogPosition, now: number): boolean {
  const since = log.head - log.compactedThrough
  if (since <= 0) return false
  return since >= policy.threshold || now - log.compactedAt >= policy.intervalMs
}
