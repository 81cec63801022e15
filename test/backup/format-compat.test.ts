import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

/**
 * fixtures/format1.pnb was written by pryv-node at ae006a1 (backup format 1, before the backup was
 * made in the node from the stored JSON): platform old.pryv.test at revision 5, DNS users alice and
 * bob, registry users olduser0 to olduser2. The key below is this fixture's only: not a secret.
 */
const FIXTURE = join(import.meta.dirname, 'fixtures', 'format1.pnb')
const KEY = { PRYV_BACKUP_KEY: 'fixture-backup-key-not-secret-0123456789' }

describe('a backup made by an earlier pryv-node', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('verifies, and restores with its users, DNS data and revision', async () => {
    const verified = await runCli(['backup', 'verify', FIXTURE, '--json'], { env: KEY })
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, contentChecked: true, domain: 'old.pryv.test', revision: 5 })

    const restored = NodeProcess.start(tempDir(), ['restore', FIXTURE, '--name', 'core9', '--listen', '127.0.13.40:0', '--dns', '127.0.13.40:0'], KEY)
    nodes.push(restored)
    const ready = await restored.ready(60_000)
    expect(restored.events[0]).toMatchObject({ event: 'backup', revision: 5, domain: 'old.pryv.test' })
    // At the backup's revision, or just after it (the restored node records its own addresses).
    expect(ready.revision).toBeGreaterThanOrEqual(5)
    expect(ready.gone).toEqual(['core1'])
    const control = (method: string, params: Record<string, unknown>): Promise<unknown> => callControl(`${restored.dataDir}/control.sock`, method, params, 15_000)
    expect(await control('dns.users.get', {})).toMatchObject({ users: { alice: 'core1', bob: 'core1' } })
    const { users } = await control('registry.users', { usernames: ['olduser0', 'olduser1', 'olduser2'] }) as { users: Array<{ username: string, fields: { email: string } }> }
    expect(users.map((u) => [u.username, u.fields.email])).toEqual([0, 1, 2].map((i) => [`olduser${i}`, `olduser${i}@example.com`]))
    // It goes on writing after the backup's revision.
    const { revision } = await control('dns.users.set', { users: { carol: 'core9' } }) as { revision: number }
    expect(revision).toBeGreaterThan(5)
    expect(await control('dns.users.get', {})).toMatchObject({ users: { alice: 'core1', bob: 'core1', carol: 'core9' } })
  }, 90_000)
})
