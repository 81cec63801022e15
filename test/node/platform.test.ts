import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

interface Member { name: string, peerId: string, role: string, alive: boolean, revision: number | null, addresses: string[] }
interface Status { revision: number, members: Member[], platform: { id: string } }

async function status(dataDir: string): Promise<Status> {
  const r = await runCli(['--data-dir', dataDir, 'status', '--json'])
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout)
}

async function createInvite(dataDir: string, extra: string[] = []): Promise<string> {
  const r = await runCli(['--data-dir', dataDir, 'invite', 'create', '--json', ...extra])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout).invite
}

const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']

describe('a platform of three node processes', () => {
  const nodes: NodeProcess[] = []
  let founder: NodeProcess
  let firstInvite: string

  beforeAll(async () => {
    founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...LOOPBACK])
    nodes.push(founder)
    firstInvite = (await founder.ready()).invite as string
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('joins two machines with invites, and every member sees all three up', async () => {
    const second = NodeProcess.start(tempDir(), ['join-platform', firstInvite, '--name', 'core2', ...LOOPBACK])
    nodes.push(second)
    await second.ready()
    const third = NodeProcess.start(tempDir(), ['join-platform', await createInvite(founder.dataDir, ['--role', 'observer']), '--name', 'obs1', ...LOOPBACK])
    nodes.push(third)
    await third.ready()

    for (const node of nodes) {
      await expect.poll(async () => {
        const s = await status(node.dataDir)
        return s.members.map((m) => `${m.name}:${m.role}:${m.alive ? 'up' : 'down'}`).sort()
      }, { timeout: 15_000, interval: 500 }).toEqual(['core1:full:up', 'core2:full:up', 'obs1:observer:up'])
    }
  })

  it('refuses a used invite, and the refused machine is left unchanged', async () => {
    const dir = tempDir()
    const r = await runCli(['--data-dir', dir, 'join-platform', firstInvite, '--name', 'late', ...LOOPBACK])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('PRYV_INVITE_USED')
    expect(r.stderr).not.toContain('    at ')
    expect(existsSync(`${dir}/node.json`)).toBe(false)
  })

  it('a member killed with SIGKILL shows down, and `start` brings it back with the same identity', async () => {
    const second = nodes[1]!
    const before = (await status(second.dataDir)).members.find((m) => m.name === 'core2')!
    await second.kill()
    await expect.poll(async () => (await status(founder.dataDir)).members.find((m) => m.name === 'core2')?.alive, { timeout: 15_000, interval: 500 }).toBe(false)

    // Writes made while it was down must reach it when it comes back.
    await createInvite(founder.dataDir)
    const head = (await status(founder.dataDir)).revision

    const restarted = NodeProcess.start(second.dataDir, ['start', '--listen', '127.0.0.1:0'])
    nodes[1] = restarted
    expect((await restarted.ready()).peerId).toBe(before.peerId)
    await expect.poll(async () => {
      const s = await status(restarted.dataDir)
      return { revision: s.revision >= head, members: s.members.filter((m) => m.alive).length }
    }, { timeout: 20_000, interval: 500 }).toEqual({ revision: true, members: 3 })
    await expect.poll(async () => (await status(founder.dataDir)).members.find((m) => m.name === 'core2')?.alive, { timeout: 15_000, interval: 500 }).toBe(true)
  })

  it('refuses a second node process on the same data dir', async () => {
    const r = await runCli(['--data-dir', founder.dataDir, 'start', '--listen', '127.0.0.1:0'])
    expect(r.code).toBe(7)
    expect(r.stderr).toMatch(/PRYV_DATA_DIR_LOCKED: Another pryv-node \(pid \d+\) is running/)
  })

  it('stops gracefully on SIGTERM with exit code 0', async () => {
    const third = nodes[2]!
    expect(await third.stop()).toBe(0)
    expect(existsSync(`${third.dataDir}/control.sock`)).toBe(false)
    expect(existsSync(`${third.dataDir}/node.lock`)).toBe(false)
  })
})
