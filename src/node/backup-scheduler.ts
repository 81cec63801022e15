import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { encodeBackup } from '../backup/format.js'
import { readBackupKey } from '../backup/key.js'
import { ExitCode, OperatorError } from '../errors.js'
import { encodeSnapshot } from '../state/snapshot.js'
import type { StateStore } from '../state/store.js'
import { packageVersion } from '../version.js'
import type { NodeContext } from './context.js'

export interface BackupSchedule {
  readonly dir: string
  readonly intervalMs: number
  readonly keep: number
  readonly key: string
}

export interface BackupScheduleStatus {
  readonly dir: string
  readonly intervalMs: number
  readonly keep: number
  /** Last good backup made by this node (milliseconds since the epoch), file and revision. */
  readonly lastAt: number | null
  readonly lastFile: string | null
  readonly lastError: string | null
  /** True when the last good backup is older than twice the interval. */
  readonly stale: boolean
}

const CHECK_EVERY_MS = 1000
const FILE = /^pryv-backup-(\d{13})-r(\d+)\.pnb$/

/**
 * Scheduled backups from the node's environment: `PRYV_NODE_BACKUP_DIR` turns them on,
 * `PRYV_NODE_BACKUP_INTERVAL_SECONDS` (86400) and `PRYV_NODE_BACKUP_KEEP` (7) tune them, and the key is
 * `PRYV_NODE_BACKUP_KEY_FILE`'s content or `PRYV_BACKUP_KEY`. Undefined when not turned on.
 */
export async function backupScheduleFromEnv(env: Readonly<Record<string, string | undefined>>): Promise<BackupSchedule | undefined> {
  const dir = env.PRYV_NODE_BACKUP_DIR
  if (!dir) return undefined
  const int = (name: string, fallback: number): number => {
    const text = env[name]
    if (text === undefined || text === '') return fallback
    const value = Number(text)
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new OperatorError('PRYV_BACKUP_SCHEDULE_INVALID', `${name}=${text} is not a whole number of at least 1.`, { hint: `Fix ${name}, or unset it for the default (${fallback}).`, exitCode: ExitCode.usage })
    }
    return value
  }
  return {
    dir,
    intervalMs: int('PRYV_NODE_BACKUP_INTERVAL_SECONDS', 86_400) * 1000,
    keep: int('PRYV_NODE_BACKUP_KEEP', 7),
    key: await readBackupKey(env.PRYV_NODE_BACKUP_KEY_FILE, env)
  }
}

/**
 * Makes the scheduled backups: only while this node leads the writer set, so that one node at a time
 * makes them, into its own directory, keeping the newest `keep`. A failure is logged, shown in status
 * and tried again at the next check; a last good backup older than twice the interval is warned about.
 */
export class BackupScheduler {
  private lastAt: number | null = null
  private lastFile: string | null = null
  private lastError: string | null = null
  private timer?: NodeJS.Timeout
  private running = false
  private warnedStale = false

  constructor(private readonly ctx: NodeContext, private readonly store: StateStore, private readonly schedule: BackupSchedule, private readonly isLeader: () => boolean) {}

  async start(): Promise<void> {
    await fs.mkdir(this.schedule.dir, { recursive: true, mode: 0o700 })
    const newest = (await this.files()).at(-1)
    if (newest) {
      this.lastAt = Number(FILE.exec(newest)![1])
      this.lastFile = join(this.schedule.dir, newest)
    }
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  status(): BackupScheduleStatus {
    return { dir: this.schedule.dir, intervalMs: this.schedule.intervalMs, keep: this.schedule.keep, lastAt: this.lastAt, lastFile: this.lastFile, lastError: this.lastError, stale: this.stale() }
  }

  private stale(): boolean {
    return this.lastAt === null || Date.now() - this.lastAt > 2 * this.schedule.intervalMs
  }

  private async check(): Promise<void> {
    if (this.running || !this.isLeader()) return
    if (this.lastAt !== null && Date.now() - this.lastAt < this.schedule.intervalMs) return
    this.running = true
    try {
      await this.backup()
      this.warnedStale = false
    } catch (err) {
      this.lastError = (err as Error).message
      this.ctx.log.warn({ err: this.lastError, dir: this.schedule.dir }, 'the scheduled backup failed; it is tried again')
      if (this.stale() && !this.warnedStale) {
        this.warnedStale = true
        this.ctx.log.warn({ lastAt: this.lastAt }, 'the last good backup is older than twice the backup interval')
      }
    } finally {
      this.running = false
    }
  }

  private async backup(): Promise<void> {
    const { platformId, domain, name } = this.ctx.config
    const platformKeyHex = this.ctx.platformKey()
    if (platformKeyHex === undefined) throw new Error('this node holds no platform key yet')
    const { bytes, header } = encodeSnapshot(platformId, await this.store.exportState())
    const at = Date.now()
    const file = join(this.schedule.dir, `pryv-backup-${at}-r${header.revision}.pnb`)
    const backup = encodeBackup({ platformId, domain, revision: header.revision, createdAt: new Date(at).toISOString(), node: name, pryvNodeVersion: packageVersion() }, { platformKeyHex, snapshot: bytes }, this.schedule.key)
    await fs.writeFile(`${file}.partial`, backup, { mode: 0o600 })
    await fs.rename(`${file}.partial`, file)
    this.lastAt = at
    this.lastFile = file
    this.lastError = null
    const files = await this.files()
    for (const old of files.slice(0, Math.max(0, files.length - this.schedule.keep))) await fs.rm(join(this.schedule.dir, old), { force: true })
  }

  /** The scheduled backups in the directory, oldest first. */
  private async files(): Promise<string[]> {
    return (await fs.readdir(this.schedule.dir)).filter((f) => FILE.test(f)).sort()
  }
}
