import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']

interface WriterSetStatus { role: string, leader: string | null, voters: string[], learners: string[] }
interface Status { revision: number, self: { peerId: string }, writerSet: WriterSetStatus | null }

const control = (node: NodeProcess, method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
  callControl(`${node.dataDir}/control.sock`, method, params, 15_000)
const status = (node: NodeProcess): Promise<Status> => control(node, 'status') as Promise<Status>
const running = (n: NodeProcess): boolean => n.proc.exitCode === null && n.proc.signalCode === null

/** The writer set as its leader sees it, and how many running full nodes follow that leader. */
async function writerSetView(nodes: readonly NodeProcess[]): Promise<{ voters: number, learners: number, following: number } | undefined> {
  const all = await Promise.all(nodes.filter(running).map(status))
  const leader = all.find((s) => s.writerSet?.role === 'leader')
  if (!leader) return undefined
  const { voters, learners } = leader.writerSet!
  return { voters: voters.length, learners: learners.length, following: all.filter((s) => s.writerSet?.leader === leader.self.peerId).length }
}

describe('role churn on 3 full nodes (separate processes)', () => {
  const nodes: NodeProcess[] = []
  const cli = (node: NodeProcess, ...args: string[]) => runCli(['--data-dir', node.dataDir, ...args])

  beforeAll(async () => {
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...LOOPBACK])
    nodes.push(founder)
    await founder.ready()
    for (const name of ['core2', 'core3']) {
      const { invite } = await control(founder, 'invite.create', { role: 'full' }) as { invite: string }
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', name, ...LOOPBACK])
      nodes.push(node)
      await node.ready()
    }
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('demote then promote: the node becomes a voter again and follows the leader, with no restart', async () => {
    const core3 = nodes[2]!
    await expect.poll(() => writerSetView(nodes), { timeout: 30_000, interval: 300 }).toEqual({ voters: 3, learners: 0, following: 3 })
    const demoted = await cli(nodes[0]!, 'members', 'demote', 'core3')
    expect(demoted.code, demoted.stderr).toBe(0)
    await expect.poll(async () => (await status(core3)).writerSet, { timeout: 15_000, interval: 300 }).toBeNull()
    await expect.poll(() => writerSetView(nodes), { timeout: 15_000, interval: 300 }).toMatchObject({ voters: 2, learners: 0 })

    const promoted = await cli(nodes[0]!, 'members', 'promote', 'core3')
    expect(promoted.code, promoted.stderr).toBe(0)
    await expect.poll(() => writerSetView(nodes), { timeout: 30_000, interval: 500 }).toEqual({ voters: 3, learners: 0, following: 3 })
    // core3 writes through the writer set again.
    const write = await cli(core3, 'dns', 'users', 'set', 'alice=core1')
    expect(write.code, write.stderr).toBe(0)
  })
})
