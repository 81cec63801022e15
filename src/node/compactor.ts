import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { type CompactionPolicy, compactionDue, DEFAULT_COMPACTION } from '../state/compaction.js'
import type { LogBase, StateStore } from '../state/store.js'
import type { NodeContext } from './context.js'
import type { WriterSet } from './writer-set/writer-set.js'

const CHECK_EVERY_MS = 1000
const MEASURE_DISK_EVERY_MS = 10_000

/** What status and metrics show of compaction on this node. */
export interface CompactionStatus {
  readonly policy: CompactionPolicy
  /** The platform log: first revision still held, and the head. */
  readonly log: { readonly firstRevision: number, readonly revision: number }
  /** Milliseconds since the epoch of the last compaction of the platform log, if any. */
  readonly lastCompactionAt: number | null
  /** Bytes of the state database on disk (log, state, consensus log), measured every few seconds. */
  readonly diskBytes: number | null
  /**
   * The revision of the state this node read from disk when it started: what it did not have to
   * replay. The entries it applied since (from its log or from members) are `log.revision` minus it.
   */
  readonly loadedRevision: number
}

/**
 * Compacts this node's logs by the policy: the platform log (every node) by dropping entries below
 * the trailing window, and the consensus log (full nodes) by a snapshot at the applied index. The
 * state itself is already on disk: nothing is copied, nothing blocks writes or DNS answers.
 */
export class Compactor {
  private base: LogBase = { firstRevision: 1 }
  private readonly startedAt = Date.now()
  private timers: NodeJS.Timeout[] = []
  private running = false
  private diskBytes: number | null = null
  /** The defaults until the node's settings are read (setPolicy): nothing is compacted before. */
  private policy: CompactionPolicy = DEFAULT_COMPACTION
  private configured = false
  private readonly loadedRevision: number

  constructor(
    private readonly ctx: NodeContext,
    private readonly store: StateStore,
    private readonly stateDir: string,
    private readonly writerSet: () => WriterSet | undefined
  ) {
    this.loadedRevision = ctx.replica.revision
  }

  /** The policy from the node's effective settings (storage.*): at start, and again when they change. */
  setPolicy(policy: CompactionPolicy): void {
    const p = this.policy
    if (this.configured && p.threshold === policy.threshold && p.trailing === policy.trailing && p.intervalMs === policy.intervalMs) return
    if (this.configured) this.ctx.log.info({ ...policy }, 'compaction policy changed')
    this.policy = policy
    this.configured = true
  }

  async start(): Promise<void> {
    this.base = await this.store.logBase()
    this.timers.push(setInterval(() => void this.check(), CHECK_EVERY_MS))
    this.timers.push(setInterval(() => void this.measureDisk(), MEASURE_DISK_EVERY_MS))
    for (const t of this.timers) t.unref()
    await this.measureDisk()
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t)
    this.timers = []
  }

  /** Compacts whichever log is due. */
  private async check(now = Date.now()): Promise<void> {
    if (this.running || !this.configured) return
    this.running = true
    try {
      const revision = this.ctx.replica.revision
      const compacted = this.base.compactedAt !== undefined
      const position = {
        head: revision,
        compactedThrough: compacted ? this.base.firstRevision - 1 + this.policy.trailing : this.policy.trailing,
        compactedAt: this.base.compactedAt ?? this.startedAt
      }
      const firstRevision = revision - this.policy.trailing + 1
      if (compactionDue(this.policy, position, now) && firstRevision > this.base.firstRevision) {
        await this.store.compactLog(firstRevision, now)
        this.base = { firstRevision, compactedAt: now }
        this.ctx.log.debug({ firstRevision, revision }, 'compacted the platform log')
      }
      const ws = this.writerSet()
      if (ws && compactionDue(this.policy, ws.logPosition(), now)) ws.requestCompaction(this.policy.trailing)
    } catch (err) {
      this.ctx.log.warn({ err: (err as Error).message }, 'compaction failed; it is tried again')
    } finally {
      this.running = false
    }
  }

  /** The platform log's base may move under us (a snapshot installed): read it again. */
  async refresh(): Promise<void> {
    this.base = await this.store.logBase()
  }

  status(): CompactionStatus {
    return {
      policy: this.policy,
      log: { firstRevision: this.base.firstRevision, revision: this.ctx.replica.revision },
      lastCompactionAt: this.base.compactedAt ?? null,
      diskBytes: this.diskBytes,
      loadedRevision: this.loadedRevision
    }
  }

  private async measureDisk(): Promise<void> {
    try {
      let total = 0
      for (const name of await fs.readdir(this.stateDir)) {
        total += (await fs.stat(join(this.stateDir, name)).catch(() => ({ size: 0 }))).size
      }
      this.diskBytes = total
    } catch {
      this.diskBytes = null
    }
  }
}
