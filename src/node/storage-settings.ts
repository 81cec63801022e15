import type { SettingsValues } from '../config/layers.js'
import type { CompactionPolicy } from '../state/compaction.js'
import { DEFAULT_COMPACTION } from '../state/compaction.js'
import type { BackupSchedule } from './backup-scheduler.js'
import type { NodeContext } from './context.js'

/** The compaction policy in a node's effective settings (`storage.*`, already validated by the schema). */
export function compactionPolicy(values: SettingsValues): CompactionPolicy {
  const n = (key: string, fallback: number): number => (values[key] as number | undefined) ?? fallback
  return {
    threshold: n('storage.compactEntries', DEFAULT_COMPACTION.threshold),
    trailing: n('storage.compactKeep', DEFAULT_COMPACTION.trailing),
    intervalMs: n('storage.compactInterval', DEFAULT_COMPACTION.intervalMs / 1000) * 1000
  }
}

/** The scheduled backups in a node's effective settings (`backup.*`); undefined while `backup.directory` is unset. */
export function backupSchedule(values: SettingsValues): BackupSchedule | undefined {
  const dir = values['backup.directory'] as string | null | undefined
  if (!dir) return undefined
  return {
    dir,
    intervalMs: ((values['backup.interval'] as number | undefined) ?? 86_400) * 1000,
    keep: (values['backup.keep'] as number | undefined) ?? 7,
    keyFile: (values['backup.keyFile'] as string | null | undefined) ?? null
  }
}

/** Commands that may change a node's effective settings: the settings themselves, or the release's schema. */
const READ_AGAIN_ON = new Set(['settings.change', 'platform.create', 'release.apply', 'release.rollback'])

/**
 * Applies the `storage.*` and `backup.*` settings to the compactor and the backup scheduler: at start,
 * and again without restart whenever a settings change or a release (or an installed snapshot) may
 * have changed them.
 */
export class StorageSettings {
  private readonly onApplied = (_entry: unknown, command: { kind: string }): void => {
    if (READ_AGAIN_ON.has(command.kind)) void this.apply()
  }
  private readonly onInstalled = (): void => void this.apply()
  /** One application at a time, in order: the last change read wins. */
  private applying: Promise<void> = Promise.resolve()

  constructor(
    private readonly ctx: NodeContext,
    private readonly values: () => SettingsValues,
    private readonly targets: { readonly compactor: { setPolicy(p: CompactionPolicy): void }, readonly backups: { configure(s: BackupSchedule | undefined): Promise<void> } }
  ) {}

  async start(): Promise<void> {
    this.ctx.replica.on('applied', this.onApplied)
    this.ctx.replica.on('installed', this.onInstalled)
    await this.apply()
  }

  stop(): void {
    this.ctx.replica.off('applied', this.onApplied)
    this.ctx.replica.off('installed', this.onInstalled)
  }

  private apply(): Promise<void> {
    this.applying = this.applying.then(() => this.applyNow())
    return this.applying
  }

  private async applyNow(): Promise<void> {
    try {
      const values = this.values()
      this.targets.compactor.setPolicy(compactionPolicy(values))
      await this.targets.backups.configure(backupSchedule(values))
    } catch (err) {
      this.ctx.log.error({ err: (err as Error).message }, 'cannot apply the storage and backup settings; the previous ones stay')
    }
  }
}
