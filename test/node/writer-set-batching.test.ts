import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess } from '../support/cli.js'
import { control, startPlatform } from '../support/platform.js'

// Group commit: concurrent writes on the leader share log writes (one fsync per Ready, on the leader
// and on each follower), and a leader killed with SIGKILL in the middle of a batch loses no write it
// acknowledged.
const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none', '--admin', 'none']

interface Status { self: { peerId: string }, writerSet: { role: string, leader: string | null, voters: string[], logSyncs: number } | null }

const status = (node: NodeProcess): Promise<Status> => control(node, 'status') as Promise<Status>
const setUser = (node: NodeProcess, name: string): Promise<unknown> => control(node, 'dns.users.set', { users: { [name]: 'core1' } })

describe('group commit on 3 full nodes', () => {
  const nodes: NodeProcess[] = []

  beforeAll(async () => {
    await startPlatform(nodes, [['core2', 'full'], ['core3', 'full']], LOOPBACK)
    const founder = nodes[0]!
    for (const deadline = Date.now() + 30_000; (await status(founder)).writerSet?.voters.length !== 3;) {
      if (Date.now() > deadline) throw new Error('the writer set did not grow to 3 voters within 30 s')
      await new Promise((r) => setTimeout(r, 300))
    }
  }, 60_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  const leader = async (among: NodeProcess[]): Promise<NodeProcess> => {
    let found: NodeProcess | undefined
    await expect.poll(async () => {
      const all = await Promise.all(among.map((n) => status(n).catch(() => undefined)))
      found = among[all.findIndex((s) => s?.writerSet?.role === 'leader')]
      return found !== undefined
    }, { timeout: 20_000, interval: 200 }).toBe(true)
    return found!
  }

  it('makes 32 concurrent writes durable with fewer fsyncs than writes, on the leader and on each follower', async () => {
    const lead = await leader(nodes)
    const before = await Promise.all(nodes.map(status))
    await Promise.all(Array.from({ length: 32 }, (_, i) => setUser(lead, `batch-${i}`)))
    // Followers write their last batch right after the leader commits it: wait until they have.
    await expect.poll(async () => {
      const users = await Promise.all(nodes.map((n) => control(n, 'dns.users.get', {}) as Promise<{ users: Record<string, string> }>))
      return users.every((u) => Object.keys(u.users).filter((k) => k.startsWith('batch-')).length === 32)
    }, { timeout: 10_000, interval: 200 }).toBe(true)
    const after = await Promise.all(nodes.map(status))
    const syncs = after.map((s, i) => s.writerSet!.logSyncs - before[i]!.writerSet!.logSyncs)
    console.log(`log fsyncs for 32 concurrent writes (leader first): ${[syncs[nodes.indexOf(lead)], ...syncs.filter((_, i) => nodes[i] !== lead)].join(', ')}`)
    for (const n of syncs) {
      expect(n).toBeGreaterThan(0)
      expect(n).toBeLessThanOrEqual(24)
    }
  }, 60_000)

  it('loses no acknowledged write when the leader is killed in the middle of concurrent writes', async () => {
    const lead = await leader(nodes)
    const followers = nodes.filter((n) => n !== lead)
    const acknowledged: string[] = []
    let killed = false
    let seq = 0
    // 16 clients writing through every node: batches are in flight on the leader when it dies.
    const client = async (c: number): Promise<void> => {
      for (let i = 0; i < 12; i++) {
        const node = [lead, ...followers][(c + i) % 3]!
        if (node === lead && killed) continue
        const name = `crash-${c}-${seq++}`
        try {
          await setUser(node, name)
          acknowledged.push(name)
        } catch {
          // Unknown outcome (the leader died with it in flight): it may or may not be there.
        }
      }
    }
    const clients = Array.from({ length: 16 }, (_, c) => client(c))
    await expect.poll(() => acknowledged.length, { timeout: 20_000, interval: 20 }).toBeGreaterThanOrEqual(30)
    await lead.kill()
    killed = true
    const ackedBeforeKill = acknowledged.length
    await Promise.all(clients)
    expect(acknowledged.length).toBeGreaterThan(ackedBeforeKill)

    await leader(followers)
    const wanted = [...acknowledged]
    for (const n of followers) {
      const r = await control(n, 'dns.users.get', { usernames: wanted, consistent: true }) as { users: Record<string, string> }
      expect(wanted.filter((u) => r.users[u] === undefined)).toEqual([])
    }
    // The killed leader comes back with the same log: nothing acknowledged is missing there either.
    const restarted = NodeProcess.start(lead.dataDir, ['start', ...LOOPBACK])
    nodes[nodes.indexOf(lead)] = restarted
    await restarted.ready()
    await expect.poll(async () => {
      const r = await control(restarted, 'dns.users.get', { usernames: wanted }) as { users: Record<string, string> }
      return wanted.filter((u) => r.users[u] === undefined).length
    }, { timeout: 20_000, interval: 300 }).toBe(0)
  }, 120_000)
})
