import { afterAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']

const control = (node: NodeProcess, method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
  callControl(`${node.dataDir}/control.sock`, method, params, 15_000)
const memberNames = async (node: NodeProcess): Promise<string[]> =>
  ((await control(node, 'status')) as { members: Array<{ name: string }> }).members.map((m) => m.name)

describe('leaving the platform ends the same way for every role', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('an observer and a full member each leave: the command succeeds, the node exits 0, and a later start refuses', async () => {
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...LOOPBACK])
    nodes.push(founder)
    await founder.ready()
    const joined: Record<string, NodeProcess> = {}
    for (const [name, role] of [['core2', 'full'], ['obs1', 'observer'], ['obs2', 'observer']] as const) {
      const { invite } = await control(founder, 'invite.create', { role }) as { invite: string }
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', name, ...LOOPBACK])
      nodes.push(node)
      await node.ready()
      joined[name] = node
    }

    for (const name of ['obs1', 'core2']) {
      const node = joined[name]!
      const left = await runCli(['--data-dir', node.dataDir, 'leave'])
      expect(left.code, `${name}: ${left.stderr}`).toBe(0)
      expect(left.stdout).toContain('left the platform')
      expect(await node.exitCode()).toBe(0)
      expect(await memberNames(founder)).not.toContain(name)

      const again = await runCli(['--data-dir', node.dataDir, 'start', ...LOOPBACK])
      expect(again.code, again.stderr).toBe(4)
      expect(again.stderr).toContain('PRYV_NODE_LEFT')
      expect(again.stderr).toContain('join-platform')
    }
  }, 120_000)

  it('a member removed by another one stops serving and exits 0, and a later start refuses', async () => {
    const obs2 = nodes[3]!
    const removed = await runCli(['--data-dir', nodes[0]!.dataDir, 'members', 'remove', 'obs2'])
    expect(removed.code, removed.stderr).toBe(0)
    expect(await obs2.exitCode()).toBe(0)
    const again = await runCli(['--data-dir', obs2.dataDir, 'start', ...LOOPBACK])
    expect(again.code, again.stderr).toBe(4)
    expect(again.stderr).toContain('PRYV_NODE_LEFT')
  })
})
