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
    const dry = await runCli(['--data-dir', dataDir, 'release', 'apply', bundle, '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    const applied = await runCli(['--data-dir', dataDir, 'release', 'apply', bundle, '--wait', '-m', 'plain bump'])
    expect(applied.stderr).not.toContain('PRYV_RELEASE_NO_MIGRATION_PATH')
    expect(applied.code, applied.stderr).toBe(0)
    const status = JSON.parse((await runCli(['--data-dir', dataDir, 'release', 'status', '--json'])).stdout)
    expect(JSON.stringify(status)).toContain('"version":"1.0.1"')
  })
})
