import { describe, expect, it } from 'vitest'
import { effectiveSettings, pryvIoSchema, settingsFromSetArgs, validateChange } from '../../src/config/index.js'
import { NO_RELEASE_SCHEMA_DEF } from '../../src/release/platform.js'
import { defineSchema } from '../../src/config/schema.js'
import { localLayers } from '../../src/node/settings-local.js'
import { backupSchedule, compactionPolicy } from '../../src/node/storage-settings.js'
import { DEFAULT_COMPACTION } from '../../src/state/compaction.js'

const current = { platform: { 'platform.domain': 'pryv.example.com' }, machines: { n1: {} } }
const problems = (set: Record<string, unknown>, machine?: string): string[][] => {
  const result = validateChange(pryvIoSchema, current, { target: machine ? { kind: 'machine', nodeId: machine } : { kind: 'platform' }, set })
  return result.ok ? [] : result.problems.map((p) => [p.key, p.message])
}

describe('storage.* and backup.*: the node\'s compaction and scheduled backups as settings', () => {
  it('default to etcd-like compaction and no scheduled backups, even before a platform has a release', () => {
    for (const schema of [pryvIoSchema, defineSchema(NO_RELEASE_SCHEMA_DEF)]) {
      const { values } = effectiveSettings(schema, {})
      expect(compactionPolicy(values)).toEqual(DEFAULT_COMPACTION)
      expect(backupSchedule(values)).toBeUndefined()
    }
  })

  it('read the platform value, a machine override, then --set, in that order', () => {
    const platform = { 'storage.compactEntries': 40, 'storage.compactKeep': 10, 'storage.compactInterval': 60, 'backup.directory': '/var/backups/pryv', 'backup.interval': 3600, 'backup.keep': 3 }
    const machine = { 'backup.directory': '/srv/backups', 'storage.compactKeep': 20 }
    const cli = settingsFromSetArgs(pryvIoSchema, ['backup.keyFile=/etc/pryv/backup.key'])
    expect(cli.problems).toEqual([])
    const { values } = effectiveSettings(pryvIoSchema, { platform, machine, cli: cli.values })
    expect(compactionPolicy(values)).toEqual({ threshold: 40, trailing: 20, intervalMs: 60_000 })
    expect(backupSchedule(values)).toEqual({ dir: '/srv/backups', intervalMs: 3_600_000, keep: 3, keyFile: '/etc/pryv/backup.key' })
  })

  it('refuse bad values with the key and what is wrong', () => {
    expect(problems({ 'storage.compactEntries': 0, 'backup.keep': 'many', 'backup.directory': 'backups' })).toEqual([
      ['storage.compactEntries', "'storage.compactEntries' must be at least 1, got 0"],
      ['backup.keep', "'backup.keep' must be an integer, got \"many\""],
      ['backup.directory', expect.stringMatching(/^'backup.directory' must be an absolute path \(e.g. \/var\/backups\/pryv\), got "backups"$/)]
    ])
    // The interval is the platform's: one node at a time makes the backups.
    expect(problems({ 'backup.interval': 60 }, 'n1')).toEqual([['backup.interval', "'backup.interval' is platform-wide and cannot be overridden on one machine"]])
    expect(problems({ 'backup.directory': '/srv/backups', 'storage.compactKeep': 0 }, 'n1')).toEqual([])
  })

  it('the backup key itself is no setting: PRYV_BACKUP_KEY is the node\'s variable, not a look-alike', () => {
    const layers = localLayers({ env: { PRYV_BACKUP_KEY: 'a-key-of-some-length', PRYV_BACKUP_DIRECTORY: '/srv/b' }, setArgs: [] }, pryvIoSchema)
    expect(layers.warnings).toEqual([])
    expect(layers.env).toEqual({ 'backup.directory': '/srv/b' })
  })
})
