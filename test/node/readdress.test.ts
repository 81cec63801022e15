import { afterAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { control } from '../support/platform.js'

/**
 * Members that come back on new addresses (a new port, a machine whose IP changed): the platform must
 * find them again, and must not stay without a leader because the full members only know each other's
 * old addresses. Loopback addresses of this file: 127.0.83.x.
 */

interface MemberStatus { name: string, self: boolean, addresses: string[], recordedAddresses: string[], alive: boolean }
interface Status {
  members: MemberStatus[]
  writerSet: { role: string, voters: string[] } | null
  reach: { connected: number, of: number, stranded: boolean }
}

const status = (node: NodeProcess): Promise<Status> => control(node, 'status') as Promise<Status>
const at = (host: string): string[] => ['--listen', `${host}:0`, '--dns', 'none']
const start = (node: NodeProcess, host: string, extra: string[] = []): NodeProcess => NodeProcess.start(node.dataDir, ['start', ...at(host), ...extra])
/** The mesh address a node listens on now (host:port). */
const meshAddress = async (node: NodeProcess): Promise<string> => {
  const self = (await status(node)).members.find((m) => m.self)!
  const m = /^\/ip4\/([\d.]+)\/tcp\/(\d+)$/.exec(self.addresses[0]!)!
  return `${m[1]}:${m[2]}`
}
const addressesOf = async (node: NodeProcess, name: string): Promise<string[]> => (await status(node)).members.find((m) => m.name === name)?.addresses ?? []
const recordOf = async (node: NodeProcess, name: string): Promise<string[]> => (await status(node)).members.find((m) => m.name === name)?.recordedAddresses ?? []
const aliveOn = async (node: NodeProcess, name: string): Promise<boolean> => (await status(node)).members.find((m) => m.name === name)?.alive ?? false
const leaders = async (nodes: readonly NodeProcess[]): Promise<number> => (await Promise.all(nodes.map(status))).filter((s) => s.writerSet?.role === 'leader').length
const write = (node: NodeProcess, user: string): Promise<unknown> => control(node, 'dns.users.set', { users: { [user]: 'core1' } })

async function platform(nodes: NodeProcess[], joiners: ReadonlyArray<readonly [string, 'full' | 'observer', string]>): Promise<void> {
  nodes.push(NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...at('127.0.83.1')]))
  await nodes[0]!.ready()
  for (const [name, role, host] of joiners) {
    const { invite } = await control(nodes[0]!, 'invite.create', { role }) as { invite: string }
    const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', name, ...at(host)])
    nodes.push(node)
    await node.ready()
  }
  await expect.poll(async () => (await status(nodes[0]!)).writerSet?.voters.length, { timeout: 30_000, interval: 300 }).toBe(3)
}

describe('full members that come back on new addresses, with an observer that stayed', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('elects a leader again when two of three full members restart on new addresses and the third stays down', async () => {
    await platform(nodes, [['core2', 'full', '127.0.83.2'], ['core3', 'full', '127.0.83.3'], ['obs1', 'observer', '127.0.83.4']])
    await write(nodes[3]!, 'before')
    expect(await Promise.all(nodes.slice(0, 3).map((n) => n.stop()))).toEqual([0, 0, 0])

    nodes[0] = start(nodes[0]!, '127.0.83.11')
    nodes[1] = start(nodes[1]!, '127.0.83.12')
    await Promise.all(nodes.slice(0, 2).map((n) => n.ready()))
    // Each learns the other's new address from the observer, whose address did not change.
    await expect.poll(() => leaders(nodes.slice(0, 2)), { timeout: 40_000, interval: 500 }).toBe(1)
    await write(nodes[1]!, 'after')
    await write(nodes[3]!, 'from-observer')

    // The observer follows the members that moved.
    await expect.poll(async () => (await addressesOf(nodes[3]!, 'core1')).every((a) => a.includes('/127.0.83.11/')), { timeout: 20_000, interval: 500 }).toBe(true)
    expect(await aliveOn(nodes[3]!, 'core2')).toBe(true)
  }, 150_000)
})

describe('full members that come back on new addresses, nothing else up', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('finds a member that moved while the others stayed up', async () => {
    await platform(nodes, [['core2', 'full', '127.0.83.22'], ['core3', 'full', '127.0.83.23']])
    expect(await nodes[2]!.stop()).toBe(0)
    nodes[2] = start(nodes[2]!, '127.0.83.33')
    await nodes[2]!.ready()
    for (const other of nodes.slice(0, 2)) {
      await expect.poll(async () => (await aliveOn(other, 'core3')) && (await addressesOf(other, 'core3')).every((a) => a.includes('/127.0.83.33/')), { timeout: 20_000, interval: 500 }).toBe(true)
    }
    // Its record in the platform's state follows, on every member: where the others look first after a restart.
    for (const n of nodes) {
      await expect.poll(async () => (await recordOf(n, 'core3')).every((a) => a.includes('/127.0.83.33/')), { timeout: 20_000, interval: 500 }).toBe(true)
    }
    await write(nodes[2]!, 'moved')
  }, 150_000)

  it('says a node is stranded, and `start --peer` brings a leader back when two restart on new addresses with the third down', async () => {
    const core3At = await meshAddress(nodes[2]!)
    expect(await Promise.all(nodes.map((n) => n.stop()))).toEqual([0, 0, 0])
    nodes[0] = start(nodes[0]!, '127.0.83.41')
    await nodes[0]!.ready()
    // No member answers at the addresses core1 knows: its status says so.
    await expect.poll(async () => (await status(nodes[0]!)).reach, { timeout: 30_000, interval: 500 }).toMatchObject({ connected: 0, stranded: true })
    const shown = await runCli(['--data-dir', nodes[0]!.dataDir, 'status'])
    expect(shown.stdout).toContain('warning: no member answers at the addresses this node knows (0 of 2): if they moved, restart this node with --peer')

    nodes[1] = start(nodes[1]!, '127.0.83.42', ['--peer', await meshAddress(nodes[0]!)])
    await nodes[1]!.ready()
    await expect.poll(() => leaders(nodes.slice(0, 2)), { timeout: 40_000, interval: 500 }).toBe(1)
    await write(nodes[0]!, 'after-peer')
    expect((await status(nodes[0]!)).reach.stranded).toBe(false)

    // The third comes back where it was: the others reach it at its recorded address and it catches up.
    nodes[2] = NodeProcess.start(nodes[2]!.dataDir, ['start', '--listen', core3At, '--dns', 'none'])
    await nodes[2]!.ready()
    await expect.poll(async () => (await recordOf(nodes[2]!, 'core1')).every((a) => a.includes('/127.0.83.41/')), { timeout: 30_000, interval: 500 }).toBe(true)
    await write(nodes[2]!, 'third-back')
  }, 150_000)
})

describe('start --peer', () => {
  it('refuses what is not a member\'s mesh address, before anything starts (exit 2)', async () => {
    const r = await runCli(['--data-dir', tempDir(), 'start', '--peer', '/ip4/127.0.83.9/udp/7400'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('"/ip4/127.0.83.9/udp/7400" is not a member\'s mesh address')
  })
})
