import { ExitCode, OperatorError } from '../errors.js'

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

const VARIABLES = {
  threshold: 'PRYV_NODE_COMPACT_THRESHOLD',
  trailing: 'PRYV_NODE_COMPACT_TRAILING',
  intervalMs: 'PRYV_NODE_COMPACT_INTERVAL_SECONDS'
} as const

/**
 * The node's compaction policy from its environment (`PRYV_NODE_COMPACT_THRESHOLD`,
 * `PRYV_NODE_COMPACT_TRAILING`, `PRYV_NODE_COMPACT_INTERVAL_SECONDS`), defaults for what is unset.
 */
export function compactionPolicyFromEnv(env: Readonly<Record<string, string | undefined>>): CompactionPolicy {
  const read = (name: string, min: number, fallback: number, scale = 1): number => {
    const text = env[name]
    if (text === undefined || text === '') return fallback * scale
    const value = Number(text)
    if (!Number.isSafeInteger(value) || value < min) {
      throw new OperatorError('PRYV_COMPACTION_SETTING_INVALID', `${name}=${text} is not a whole number of at least ${min}.`, {
        hint: `Set ${name} to a whole number, or unset it for the default (${fallback}).`,
        exitCode: ExitCode.usage
      })
    }
    return value * scale
  }
  return {
    threshold: read(VARIABLES.threshold, 1, DEFAULT_COMPACTION.threshold),
    trailing: read(VARIABLES.trailing, 0, DEFAULT_COMPACTION.trailing),
    intervalMs: read(VARIABLES.intervalMs, 1, DEFAULT_COMPACTION.intervalMs / 1000, 1000)
  }
}
