import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { upgradePath } from '../../src/release/migrate.js'
import type { MigrationDef } from '../../src/release/types.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { copyBundle, editYaml } from './helpers.js'

const step = (from: string, to: string): MigrationDef => ({ from, to, steps: [] })

describe('upgradePath', () => {
  it('a plain version bump (no migration past the running version) runs no step; anything else needs a path', () => {
    expect(upgradePath([], '1.0.0', '1.0.1')).toEqual([])
    expect(upgradePath([step('0.9.0', '1.0.0')], '1.0.0', '1.1.0')).toEqual([])
    // A migration ahead of the running version that does not reach the target: refused as before.
    expect(() => upgradePath([step('1.0.0', '1.1.0')], '1.0.0', '1.2.0')).toThrow(expect.objectContaining({ code: 'PRYV_RELEASE_NO_MIGRATION_PATH' }))
    // Going back a version is not a plain bump.
    expect(() => upgradePath([], '1.1.0', '1.0.0')).toThrow(expect.objectContaining({ code: 'PRYV_RELEASE_NO_MIGRATION_PATH' }))
  })
})

describe('release apply of a plain version bump', () => {
  let node: NodeProcess
  let dataDir: string
  beforeAll(async () => {
    dataDir = tempDir()
    node = NodeProcess.start(dataDir, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.61.50:0', '--dns', 'none'])
    await node.ready()
  })
  afterAll(async () => {
    await node?.stop()
    cleanupTempDirs()
  })

  it('applies with no migration file: verify says valid, apply goes through, the platform runs the new version', async () => {
    const bundle = copyBundle()
    editYaml(bundle, 'release.yaml', (r) => { r.version = '1.0.1' })
    expect((await runCli(['release', 'verify', bundle])).code).toBe(0)
    const onNode = await runCli(['--data-dir', dataDir, 'release', 'verify', bundle])
    expect(onNode.code, onNode.stderr).toBe(0)
    expect(onNode.stdout).toContain('platform   from 1.0.0 to 1.0.1: no settings migration; the migrated settings fit every node\n')
    const dry = await runCli(['--data-dir', dataDir, 'release', 'apply', bundle, '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    const applied = await runCli(['--data-dir', dataDir, 'release', 'apply', bundle, '--wait', '-m', 'plain bump'])
    expect(applied.stderr).not.toContain('PRYV_RELEASE_NO_MIGRATION_PATH')
    expect(applied.code, applied.stderr).toBe(0)
    const status = JSON.parse((await runCli(['--data-dir', dataDir, 'release', 'status', '--json'])).stdout)
    expect(JSON.stringify(status)).toContain('"version":"1.0.1"')
  })
})

describe('release verify on a node: against the release in force; off-platform: the bundle alone', () => {
  let node: NodeProcess
  let dataDir: string
  beforeAll(async () => {
    dataDir = tempDir()
    node = NodeProcess.start(dataDir, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.61.51:0', '--dns', 'none'])
    await node.ready()
  })
  afterAll(async () => {
    await node?.stop()
  })

  it('a version below the one in force: valid alone, refused on the node with no migration path (exit 3)', async () => {
    const bundle = copyBundle()
    editYaml(bundle, 'release.yaml', (r) => { r.version = '0.9.0' })
    const alone = await runCli(['--data-dir', tempDir(), 'release', 'verify', bundle])
    expect(alone.code, alone.stderr).toBe(0)
    expect(alone.stdout).toContain('platform   not checked: no node runs here (the bundle alone was checked)\n')
    const onNode = await runCli(['--data-dir', dataDir, 'release', 'verify', bundle])
    expect(onNode.stderr).toContain('PRYV_RELEASE_NO_MIGRATION_PATH')
    expect(onNode.stderr).not.toContain('    at ')
    expect(onNode.code).toBe(3)
  })

  it('a new required setting without a default or migration: valid alone, refused on the node naming it (exit 3)', async () => {
    const bundle = copyBundle()
    editYaml(bundle, 'release.yaml', (r) => { r.version = '1.0.1' })
    editYaml(bundle, 'schema.yaml', (s) => {
      s.groups.platform.settings.contact = { type: 'string', description: 'Who to write to.', scope: 'platform', consumers: ['demo-web'] }
    })
    const alone = await runCli(['--data-dir', tempDir(), 'release', 'verify', bundle, '--json'])
    expect(alone.code, alone.stderr).toBe(0)
    expect(JSON.parse(alone.stdout).platform).toEqual({ checked: false })
    const onNode = await runCli(['--data-dir', dataDir, 'release', 'verify', bundle])
    expect(onNode.stderr).toContain('PRYV_RELEASE_SETTINGS_INVALID')
    expect(onNode.stderr).toContain('platform.contact')
    expect(onNode.code).toBe(3)
  })
})

