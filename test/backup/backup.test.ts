import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { control, dnsUsers, resolveA } from '../support/platform.js'

/** This test's loopback range; the restored founder takes the old founder's address. */
const ip = (i: number): string => `127.0.13.${i + 1}`
const args = (i: number): string[] => ['--listen', `${ip(i)}:0`, '--dns', `${ip(i)}:0`]

describe('backup and restore: a platform backed up under load, destroyed, and founded again from the file', () => {
  const nodes: NodeProcess[] = []
  const keys = tempDir()
  const backups = tempDir()
  const keyFile = join(keys, 'backup.key')
  const file = join(backups, 'platform.pnb')
  /** Writes acknowledged before the platform was lost, with the revision each returned. */
  const acked = new Map<string, { core: string, revision: number }>()
  let backupRevision = 0
  let dnsBefore: string[] = []

  beforeAll(async () => {
    expect((await runCli(['backup', 'keygen', keyFile])).code).toBe(0)
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...args(0)])
    nodes.push(founder)
    await founder.ready()
    const { invite } = await control(founder, 'invite.create', { role: 'full' }) as { invite: string }
    const core2 = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', 'core2', ...args(1)])
    nodes.push(core2)
    await core2.ready()
  }, 60_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('backs up online while writes go on: one revision, encrypted, verifiable without a platform', async () => {
    let running = true
    let seq = 0
    const writer = async (node: NodeProcess): Promise<void> => {
      while (running) {
        const user = `user${seq++}`
        const core = seq % 2 === 0 ? 'core1' : 'core2'
        const r = await control(node, 'dns.users.set', { users: { [user]: core } }) as { revision: number }
        acked.set(user, { core, revision: r.revision })
      }
    }
    const load = Promise.all([writer(nodes[0]!), writer(nodes[1]!)])
    await expect.poll(() => acked.size, { timeout: 10_000 }).toBeGreaterThan(30)
    const made = await runCli(['--data-dir', nodes[1]!.dataDir, 'backup', file, '--key-file', keyFile, '--json'])
    expect(made.code, made.stderr).toBe(0)
    backupRevision = (JSON.parse(made.stdout) as { revision: number }).revision
    await expect.poll(() => [...acked.values()].filter((a) => a.revision > backupRevision).length, { timeout: 10_000 }).toBeGreaterThan(5)
    running = false
    await load

    // Secrets are not in clear in the file: the platform key and the settings secrets are encrypted.
    const platformKeyHex = JSON.parse(readFileSync(join(nodes[0]!.dataDir, 'node.json'), 'utf8')).platformKeyHex as string
    expect(readFileSync(file).includes(platformKeyHex)).toBe(false)
    expect(readFileSync(file).includes('user1')).toBe(false)

    const verified = await runCli(['backup', 'verify', file, '--key-file', keyFile, '--json'])
    expect(verified.code, verified.stderr).toBe(0)
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, domain: 'pryv.test', revision: backupRevision, contentChecked: true })
    expect((await runCli(['--data-dir', nodes[1]!.dataDir, 'backup', file, '--key-file', keyFile])).code).toBe(4)
    dnsBefore = await resolveA(nodes[0]!.events.find((e) => e.event === 'ready')!, 'user2.pryv.test')
  }, 60_000)

  it('refuses a truncated, corrupted, other-format or wrongly keyed backup, and creates nothing', async () => {
    const good = readFileSync(file)
    const otherKey = join(keys, 'other.key')
    expect((await runCli(['backup', 'keygen', otherKey])).code).toBe(0)
    const corrupted = Buffer.from(good)
    corrupted[corrupted.length - 100] = corrupted[corrupted.length - 100]! ^ 0xff
    const cases: Array<[string, Buffer, string, RegExp]> = [
      ['truncated', good.subarray(0, good.length - 1000), keyFile, /PRYV_BACKUP_TRUNCATED/],
      ['corrupted', corrupted, keyFile, /PRYV_BACKUP_CORRUPT/],
      ['newer', Buffer.concat([Buffer.from('pryv-node-backup 2'), good.subarray('pryv-node-backup 1'.length)]), keyFile, /PRYV_BACKUP_NEWER_FORMAT/],
      ['wrong-key', good, otherKey, /PRYV_BACKUP_WRONG_KEY/]
    ]
    for (const [name, bytes, key, error] of cases) {
      const bad = join(backups, `${name}.pnb`)
      writeFileSync(bad, bytes)
      const dir = tempDir()
      const r = await runCli(['--data-dir', dir, 'restore', bad, '--key-file', key, '--name', 'core1', '--listen', '127.0.13.9:0', '--dns', 'none'])
      expect(r.code, name).not.toBe(0)
      expect(r.stderr, name).toMatch(error)
      expect(r.stderr, name).not.toMatch(/\n\s+at /)
      expect(readdirSync(dir), name).toEqual([])
    }
    // Where a platform lives, a restore is refused unless forced.
    const r = await runCli(['--data-dir', nodes[0]!.dataDir, 'restore', file, '--key-file', keyFile, '--name', 'core1', '--dns', 'none'])
    expect(r.stderr).toMatch(/PRYV_(ALREADY_INITIALISED|DATA_DIR_LOCKED)/)
    expect(existsSync(join(nodes[0]!.dataDir, 'node.json'))).toBe(true)
  }, 60_000)

  it('restores on a fresh machine every write acknowledged up to the backup\'s revision, the same DNS answers, and takes a new member', async () => {
    // Every machine is lost.
    for (const n of nodes.splice(0)) await n.kill()

    const restored = NodeProcess.start(tempDir(), ['restore', file, '--key-file', keyFile, '--name', 'core1', ...args(0)])
    nodes.push(restored)
    const ready = await restored.ready(60_000)
    expect(restored.events[0]).toMatchObject({ event: 'backup', revision: backupRevision, domain: 'pryv.test' })
    expect(ready.gone).toEqual(['core2'])

    const now = await dnsUsers(restored)
    const expected = [...acked].filter(([, a]) => a.revision <= backupRevision)
    expect(expected.length).toBeGreaterThan(30)
    for (const [user, a] of expected) expect(now[user], user).toBe(a.core)
    expect(await resolveA(ready, 'user2.pryv.test')).toEqual(dnsBefore)

    // The restored platform writes again, and a new machine joins it with the invite it printed.
    await control(restored, 'dns.users.set', { users: { after: 'core1' } })
    const joiner = NodeProcess.start(tempDir(), ['join-platform', ready.invite as string, '--name', 'core3', ...args(2)])
    nodes.push(joiner)
    await joiner.ready(60_000)
    await expect.poll(async () => (await dnsUsers(joiner)).after, { timeout: 15_000 }).toBe('core1')
    expect(await dnsUsers(joiner)).toEqual(await dnsUsers(restored))
  }, 120_000)
})

describe('scheduled backups, as settings', () => {
  afterAll(() => cleanupTempDirs())

  it('start without restart when `config set` gives a directory, keep the newest, show in status and metrics, verify, and warn when too old', async () => {
    const dir = join(tempDir(), 'backups')
    const keyFile = join(tempDir(), 'backup.key')
    expect((await runCli(['backup', 'keygen', keyFile])).code).toBe(0)
    const node = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.13.20:0', '--dns', 'none'])
    const cli = (...args: string[]) => runCli(['--data-dir', node.dataDir, ...args])
    const backupStatus = async () => (await control(node, 'status') as { backups: { lastAt: number | null, lastFile: string, stale: boolean, lastError: string | null } | null }).backups
    try {
      await node.ready()
      await control(node, 'dns.users.set', { users: { alice: 'core1' } })
      expect(await backupStatus()).toBeNull()

      // A bad value is refused with the key and what is wrong; nothing changes.
      const bad = await cli('config', 'set', 'backup.directory=backups')
      expect(bad.code).not.toBe(0)
      expect(bad.stderr).toContain("'backup.directory' must be an absolute path (e.g. /var/backups/pryv), got \"backups\"")
      expect(bad.stderr).not.toMatch(/\n\s+at /)

      // Platform-wide schedule, this machine's key file: on at once, no restart.
      expect((await cli('config', 'set', '--machine', 'core1', `backup.keyFile=${keyFile}`)).code).toBe(0)
      const set = await cli('config', 'set', `backup.directory=${dir}`, 'backup.interval=1', 'backup.keep=2')
      expect(set.code, set.stderr).toBe(0)
      // Several intervals: still only the newest two.
      await expect.poll(() => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.pnb')).length : 0), { timeout: 15_000 }).toBe(2)
      await new Promise((r) => setTimeout(r, 2500))
      expect(readdirSync(dir).filter((f) => f.endsWith('.pnb'))).toHaveLength(2)
      const ok = (await backupStatus())!
      expect(ok).toMatchObject({ lastError: null, stale: false })
      expect(Date.now() - ok.lastAt!).toBeLessThan(10_000)
      const text = await cli('status')
      expect(text.stdout).toContain(`backups  every 1 s into ${dir}; last good `)
      expect(text.stdout).not.toContain('warning  the last good backup')
      const { text: metrics } = await control(node, 'metrics', {}) as { text: string }
      expect(Number(/^pryv_node_last_backup_timestamp_seconds (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThan(Date.now() / 1000 - 10)

      // The key file moved away: backups fail, and after two intervals status warns.
      expect((await cli('config', 'set', '--machine', 'core1', `backup.keyFile=${keyFile}.moved`)).code).toBe(0)
      await expect.poll(async () => (await backupStatus())!.stale, { timeout: 15_000 }).toBe(true)
      expect((await backupStatus())!.lastError).toMatch(/Cannot read the backup key file .*backup\.key\.moved/)
      const warned = await cli('status')
      expect(warned.stdout).toContain('warning  the last good backup is older than twice backup.interval')
      expect(Number(/^pryv_node_backup_stale (\S+)$/m.exec((await control(node, 'metrics', {}) as { text: string }).text)?.[1])).toBe(1)

      // Stopped, so that no newer backup rotates the file away while it is verified.
      await node.kill()
      const newest = readdirSync(dir).filter((f) => f.endsWith('.pnb')).sort().at(-1)!
      const verified = await runCli(['backup', 'verify', join(dir, newest), '--key-file', keyFile, '--json'])
      expect(verified.code, verified.stderr).toBe(0)
      expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, contentChecked: true })
    } finally {
      await node.kill()
    }
  }, 90_000)
})
