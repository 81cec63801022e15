import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { readBackupKey } from '../backup/key.js'
import { writeBackup } from '../backup/write.js'
import type { StateStore } from '../state/store.js'
import type { NodeContext } from './context.js'

/** Scheduled backups as the node's effective settings give them (src/node/storage-settings.ts). */
export interface BackupSchedule {
  readonly dir: string
  readonly intervalMs: number
  readonly keep: number
  /** The file holding the key; null = the node's PRYV_BACKUP_KEY variable. */
  readonly keyFile: string | null
}

export interface BackupScheduleStatus {
  readonly dir: string
  readonly intervalMs: number
  readonly keep: number
  /** Last good backup in the directory (milliseconds since the epoch), file and revision. */
  readonly lastAt: number | null
  readonly lastFile: string | null
  readonly lastError: string | null
  /** True when this node makes the backups (it leads) and the last good one is older than twice the interval. */
  readonly stale: boolean
}

const CHECK_EVERY_MS = 1000
const FILE = /^pryv-backup-(\d{13})-r(\d+)\.pnb$/

/**
 * Makes the scheduled backups: only while this node leads the writer set, so that one node at a time
 * makes them, into its own directory, keeping the newest `keep`. Off until `configure` gives a schedule;
 * a new schedule applies at the next check, without restart. A failure is logged (once per distinct
 * error), shown in status and tried again at the next check; a last good backup older than twice the
 * interval is warned about.
 */
export class BackupScheduler {
  private schedule?: BackupSchedule
  /** When the current schedule was given: the age of "no backup yet" counts from it. */
  private scheduledAt = 0
  private lastAt: number | null = null
  private lastFile: string | null = null
  private lastError: string | null = null
  private timer?: NodeJS.Timeout
  private running = false
  private warnedStale = false

  constructor(
    private readonly ctx: NodeContext,
    private readonly store: StateStore,
    /** The node's environment: PRYV_BACKUP_KEY when no key file is set. */
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly isLeader: () => boolean
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** Turns scheduled backups on (a schedule), off (undefined), or changes them. */
  async configure(schedule: BackupSchedule | undefined): Promise<void> {
    const before = this.schedule
    if (JSON.stringify(before) === JSON.stringify(schedule)) return
    this.schedule = schedule
    this.scheduledAt = Date.now()
    this.lastError = null
    this.warnedStale = false
    this.ctx.log.info(schedule ? { ...schedule } : {}, schedule ? 'scheduled backups configured' : 'scheduled backups are off')
    if (schedule?.dir !== before?.dir) {
      const newest = schedule ? (await this.files(schedule.dir).catch(() => [])).at(-1) : undefined
      this.lastAt = newest ? Number(FILE.exec(newest)![1]) : null
      this.lastFile = newest && schedule ? join(schedule.dir, newest) : null
    }
  }

  /** Null while scheduled backups are off. */
  status(): BackupScheduleStatus | null {
    const s = this.schedule
    if (!s) return null
    return { dir: s.dir, intervalMs: s.intervalMs, keep: s.keep, lastAt: this.lastAt, lastFile: this.lastFile, lastError: this.lastError, stale: this.stale(s) }
  }

  private stale(s: BackupSchedule): boolean {
    return this.isLeader() && Date.now() - (this.lastAt ?? this.scheduledAt) > 2 * s.intervalMs
  }

  private async check(): Promise<void> {
    const s = this.schedule
    if (!s || this.running || !this.isLeader()) return
    if (this.lastAt !== null && Date.now() - this.lastAt < s.intervalMs) return
    this.running = true
    try {
      await this.backup(s)
      this.warnedStale = false
    } catch (err) {
      const message = (err as Error).message
      if (message !== this.lastError) this.ctx.log.warn({ err: message, dir: s.dir }, 'the scheduled backup failed; it is tried again')
      this.lastError = message
      if (this.stale(s) && !this.warnedStale) {
        this.warnedStale = true
        this.ctx.log.warn({ lastAt: this.lastAt }, 'the last good backup is older than twice the backup interval')
      }
    } finally {
      this.running = false
    }
  }

  private async backup(schedule: BackupSchedule): Promise<void> {
    const key = await readBackupKey(schedule.keyFile ?? undefined, this.env)
    await fs.mkdir(schedule.dir, { recursive: true, mode: 0o700 })
    const { platformId, domain, name } = this.ctx.config
    // Named with its revision once written; the partial file does not match FILE.
    const partial = join(schedule.dir, `pryv-backup-${Date.now()}.pnb.partial`)
    const { at, revision } = await writeBackup(this.store, { platformId, domain, node: name, platformKeyHex: this.ctx.platformKey() }, partial, key, { replace: true })
    const file = join(schedule.dir, `pryv-backup-${at}-r${revision}.pnb`)
    await fs.rename(partial, file)
    this.lastAt = at
    this.lastFile = file
    this.lastError = null
    const files = await this.files(schedule.dir)
    for (const old of files.slice(0, Math.max(0, files.length - schedule.keep))) await fs.rm(join(schedule.dir, old), { force: true })
  }

  /** The scheduled backups in a directory, oldest first. */
  private async files(dir: string): Promise<string[]> {
    return (await fs.readdir(dir)).filter((f) => FILE.test(f)).sort()
  }
}
