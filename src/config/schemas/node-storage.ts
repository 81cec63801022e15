import type { SchemaDef, SettingDef } from '../schema.js'

/** Consumers of these settings: the node itself (src/node/compactor.ts, src/node/backup-scheduler.ts), not a service. */
const COMPACTOR = 'node-storage'
const BACKUP = 'node-backup'

type Group = SchemaDef['groups'][string]

/**
 * When every node compacts its logs (issue 12): part of every release's schema, like `dns`. Each
 * node compacts its own logs, so a machine may override them (a small disk). Applied without restart.
 */
export const storageSettingsGroup: Group = {
  title: 'Storage',
  settings: {
    compactEntries: {
      type: 'integer', min: 1, scope: 'both', consumers: [COMPACTOR], default: 10_000,
      description: 'Entries applied since the last compaction after which a node compacts its logs (etcd: 10,000).'
    } as SettingDef,
    compactKeep: {
      type: 'integer', min: 0, scope: 'both', consumers: [COMPACTOR], default: 5_000,
      description: 'Newest entries kept at a compaction, so that a peer slightly behind catches up by entries rather than a whole snapshot.'
    } as SettingDef,
    compactInterval: {
      type: 'integer', min: 1, max: 31_536_000, scope: 'both', consumers: [COMPACTOR], default: 3600,
      description: 'Seconds after which a node compacts its logs even when fewer than storage.compactEntries came (registrations are slow).'
    } as SettingDef
  }
}

/**
 * Scheduled backups (issue 12), made by the writer set's leader: on when `backup.directory` is set.
 * The directory and the key file are paths on each machine (overridable per machine); the key itself
 * is never a setting. Applied without restart.
 */
export const backupSettingsGroup: Group = {
  title: 'Scheduled backups',
  settings: {
    directory: {
      type: 'string', format: 'path', scope: 'both', consumers: [BACKUP], default: null, nullable: true,
      description: 'Absolute path of the directory the writer set\'s leader writes scheduled backups into; null = no scheduled backups.'
    } as SettingDef,
    interval: {
      type: 'integer', min: 1, max: 31_536_000, scope: 'platform', consumers: [BACKUP], default: 86_400,
      description: 'Seconds between two scheduled backups. Status warns when the last good one is older than twice this.'
    } as SettingDef,
    keep: {
      type: 'integer', min: 1, max: 10_000, scope: 'platform', consumers: [BACKUP], default: 7,
      description: 'Scheduled backups kept in the directory: the newest; older ones are removed.'
    } as SettingDef,
    keyFile: {
      type: 'string', format: 'path', scope: 'both', consumers: [BACKUP], default: null, nullable: true,
      description: 'Absolute path of the file holding the key backups are encrypted with (`pryv-node backup keygen <file>`); null = the node\'s PRYV_BACKUP_KEY variable.'
    } as SettingDef
  }
}
