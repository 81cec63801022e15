import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'
import { control, dnsUsers, resolveA } from '../support/platform.js'

/** Small thresholds, so that a few hundred writes compact every log several times: platform settings, replicated to every node. */
const COMPACTION = { 'storage.compactEntries': 40, 'storage.compactKeep': 10, 'storage.compactInterval': 3600 }
/** Each node on its own loopback address of this test's range. */
const ip = (i: number): string => `127.0.12.${i + 1}`
const args = (i: number): string[] => ['--listen', `${ip(i)}:0`, '--dns', `${ip(i)}:0`]

interface Status {
  revision: number
  compaction: { policy: { threshold: number, trailing: number, intervalMs: number }, log: { firstRevision: number }, lastCompactionAt: number | null, diskBytes: number | null, snapshot: { index: number, revision: number } | null, transfers: { installed: number, served: number } }
}

const status = (node: NodeProcess): Promise<Status> => control(node, 'status') as Promise<Status>

describe('compaction, and catching up by snapshot: 3 full nodes and an observer as processes', () => {
  const nodes: NodeProcess[] = []
  const ready: Array<Record<string, unknown>> = []
  let observerDir = ''

  beforeAll(async () => {
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...args(0)])
    nodes.push(founder)
    ready.push(await founder.ready())
    await control(founder, 'settings.change', { set: COMPACTION, input: 'typed', message: 'compact often' })
    for (const [i, name, role] of [[1, 'core2', 'full'], [2, 'core3', 'full'], [3, 'obs1', 'observer']] as const) {
      const { invite } = await control(founder, 'invite.create', { role }) as { invite: string }
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', name, ...args(i)])
      nodes.push(node)
      ready.push(await node.ready())
    }
    observerDir = nodes[3]!.dataDir
  }, 120_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('compacts every node\'s logs while writes go on; an observer stopped meanwhile and a node joined after catch up by snapshot', async () => {
    expect(await nodes[3]!.stop()).toBe(0)
    // 300 writes, one entry each, through every full node.
    for (let i = 0; i < 300; i++) await control(nodes[i % 3]!, 'dns.users.set', { users: { [`user${i}`]: `core${(i % 3) + 1}` } })
    const expected = await dnsUsers(nodes[0]!)
    expect(Object.keys(expected)).toHaveLength(300)
    // The settings changed after every node started: applied without restart.
    for (const node of nodes.slice(0, 3)) expect((await status(node)).compaction.policy).toEqual({ threshold: 40, trailing: 10, intervalMs: 3_600_000 })

    for (const node of nodes.slice(0, 3)) {
      await expect.poll(async () => {
        const s = (await status(node)).compaction
        return s.log.firstRevision > 200 && (s.snapshot?.index ?? 0) > 200
      }, { timeout: 15_000, interval: 300 }).toBe(true)
    }

    // The observer missed far more than the trailing window: its restart catches up by a snapshot.
    const observer = NodeProcess.start(observerDir, ['start', ...args(3)])
    nodes[3] = observer
    ready[3] = await observer.ready()
    const head = (await status(nodes[0]!)).revision
    await expect.poll(async () => (await status(observer)).revision, { timeout: 20_000, interval: 300 }).toBeGreaterThanOrEqual(head)
    expect(await dnsUsers(observer)).toEqual(expected)
    expect((await status(observer)).compaction.transfers.installed).toBeGreaterThanOrEqual(1)

    // A full node joined after it all: it takes the state by snapshot too, then entries.
    const { invite } = await control(nodes[0]!, 'invite.create', { role: 'full' }) as { invite: string }
    // With its own trailing window (--set, above the platform's value).
    const joiner = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', 'core4', ...args(4), '--set', 'storage.compactKeep=20'])
    nodes.push(joiner)
    ready.push(await joiner.ready(60_000))
    await control(nodes[1]!, 'dns.users.set', { users: { late: 'core4' } })
    await expect.poll(async () => (await dnsUsers(joiner)).late, { timeout: 20_000, interval: 300 }).toBe('core4')
    const all = await dnsUsers(nodes[0]!)
    for (const node of [observer, joiner]) expect(await dnsUsers(node)).toEqual(all)
    expect((await status(joiner)).compaction.transfers.installed).toBeGreaterThanOrEqual(1)
    expect((await status(joiner)).compaction.policy).toEqual({ threshold: 40, trailing: 20, intervalMs: 3_600_000 })
    // Its consensus log starts from the leader's compacted snapshot, not from the founding entry.
    await expect.poll(async () => (await status(joiner)).compaction.snapshot?.revision ?? 0, { timeout: 20_000, interval: 300 }).toBeGreaterThan(200)

    // Same DNS answers from every node, the new ones included.
    for (const name of ['user7.pryv.test', 'user299.pryv.test', 'late.pryv.test']) {
      const answers = await Promise.all(ready.map((r) => resolveA(r, name)))
      for (const a of answers) expect(a).toEqual(answers[0])
    }
  }, 180_000)

  it('restarts without replaying what was compacted', async () => {
    const before = await status(nodes[1]!)
    expect(await nodes[1]!.stop()).toBe(0)
    const restarted = NodeProcess.start(nodes[1]!.dataDir, ['start', ...args(1)])
    nodes[1] = restarted
    const r = await restarted.ready()
    // Ready with the state it had: loaded from disk, from a log that starts after the compaction point.
    expect(r.revision).toBeGreaterThanOrEqual(before.revision)
    const after = await status(restarted)
    expect(after.compaction.log.firstRevision).toBeGreaterThanOrEqual(before.compaction.log.firstRevision)
    expect(after.compaction.diskBytes).toBeGreaterThan(0)
    expect(await dnsUsers(restarted)).toEqual(await dnsUsers(nodes[0]!))

    // Metrics export the same.
    const { text } = await control(restarted, 'metrics', {}) as { text: string }
    const sample = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1])
    expect(sample('pryv_node_log_first_revision')).toBe(after.compaction.log.firstRevision)
    expect(sample('pryv_node_snapshot_index')).toBeGreaterThan(200)
    expect(sample('pryv_node_log_entries')).toBeLessThanOrEqual(10 + 40 + 1)
    expect(sample('pryv_node_state_disk_bytes')).toBeGreaterThan(0)
  }, 60_000)
})
