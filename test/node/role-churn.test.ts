import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { control, LOOPBACK, startPlatform } from '../support/platform.js'

interface WriterSetStatus { role: string, leader: string | null, voters: string[], learners: string[] }
interface Status { revision: number, self: { peerId: string }, writerSet: WriterSetStatus | null }

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
    await startPlatform(nodes, [['core2', 'full'], ['core3', 'full']])
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

  it('demote, crash, promote, demote and leave in quick succession: the writer set settles on the full nodes', async () => {
    const { invite } = await control(nodes[0]!, 'invite.create', { role: 'full' }) as { invite: string }
    const core4 = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', 'core4', ...LOOPBACK])
    nodes.push(core4)
    await core4.ready()
    await expect.poll(() => writerSetView(nodes), { timeout: 20_000, interval: 300 }).toEqual({ voters: 3, learners: 1, following: 4 })

    expect((await cli(nodes[0]!, 'members', 'demote', 'core2')).code).toBe(0)
    // At once: either refused (core2 still counts among the voters) or accepted once core4 replaced it.
    const second = await cli(nodes[0]!, 'members', 'demote', 'core3')
    if (second.code !== 0) {
      expect(second.code).toBe(4)
      expect(second.stderr).toContain('PRYV_WRITER_SET_BUSY')
    }

    // Crash the leader in the middle of the changes, and bring it back.
    const leaderId = (await status(nodes[0]!)).writerSet?.leader
    const leaderIndex = (await Promise.all(nodes.map(status))).findIndex((s) => s.self.peerId === leaderId)
    if (leaderIndex >= 0) {
      await nodes[leaderIndex]!.kill()
      nodes[leaderIndex] = NodeProcess.start(nodes[leaderIndex]!.dataDir, ['start', ...LOOPBACK])
      await nodes[leaderIndex]!.ready()
    }

    const promoted = await runUntil(() => cli(nodes[0]!, 'members', 'promote', 'core2'))
    expect(promoted.code, promoted.stderr).toBe(0)
    const core3 = nodes[2]!
    const left = await runUntil(() => cli(core3, 'leave'))
    expect(left.code, left.stderr).toBe(0)
    expect(await core3.exitCode()).toBe(0)

    // Settled: core1, core2 and core4 are the voters, each follows the one leader, and each writes.
    await expect.poll(() => writerSetView(nodes), { timeout: 40_000, interval: 500 }).toEqual({ voters: 3, learners: 0, following: 3 })
    for (const n of nodes.filter(running)) {
      const w = await cli(n, 'dns', 'users', 'set', `bob=core1`)
      expect(w.code, w.stderr).toBe(0)
      expect((await cli(n, 'status')).stdout).not.toContain('no leader for')
    }
  }, 180_000)

  it('status warns on a full node that has followed no leader for a while', async () => {
    const survivors = nodes.filter(running)
    await Promise.all(survivors.slice(1).map((n) => n.kill()))
    await expect.poll(async () => (await cli(survivors[0]!, 'status')).stdout, { timeout: 20_000, interval: 500 }).toMatch(/warning +no leader for \d+ s/)
  })
})

/** Repeats a CLI call the writer set refused for being busy with an earlier change (exit 4, PRYV_WRITER_SET_BUSY). */
async function runUntil(call: () => Promise<{ code: number, stdout: string, stderr: string }>, timeoutMs = 30_000): Promise<{ code: number, stdout: string, stderr: string }> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const r = await call()
    if (r.code === 0 || Date.now() > deadline || !/PRYV_WRITER_SET_BUSY|PRYV_NO_WRITER|PRYV_NOT_LEADER/.test(r.stderr)) return r
    await new Promise((res) => setTimeout(res, 500))
  }
}
