import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderCell } from '../../src/cli/commands/config.js'
import { callControl } from '../../src/control/client.js'
import type { NodeReports } from '../../src/node/settings-service.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

interface HistoryReply { records: Array<{ revision: number, target: string }>, nodes: NodeReports[] }

const nodes: NodeProcess[] = []
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  cleanupTempDirs()
})

const cli = (node: NodeProcess, args: string[]) => runCli(['--data-dir', node.dataDir, ...args])
const lastRendered = async (node: NodeProcess): Promise<number> =>
  ((await callControl(join(node.dataDir, 'control.sock'), 'status', {})) as { settings: { settingsRevision: number } | null }).settings?.settingsRevision ?? 0

async function commit(node: NodeProcess, args: string[]): Promise<number> {
  const r = await cli(node, ['config', ...args, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout).revision as number
}

describe('config history on two node processes', () => {
  it('a machine-only change for one node, made while another waits for its restart wave: each revision shows its own effect', async () => {
    const loopback = (ip: string) => ['--listen', `${ip}:0`, '--dns', 'none', '--services', 'process']
    const core1 = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...loopback('127.0.62.1')])
    nodes.push(core1)
    const { invite } = await core1.ready()
    const core2 = NodeProcess.start(tempDir(), ['join-platform', invite as string, '--name', 'core2', ...loopback('127.0.62.2')])
    nodes.push(core2)
    await core2.ready()

    // A platform change restarts demo-web everywhere, core1 first (the canary), core2 once core1 is
    // healthy again; meanwhile a change for core1 alone that core2 has nothing to do with.
    const platformChange = await commit(core1, ['set', 'platform.name=Renamed', '-m', 'rename'])
    const machineChange = await commit(core1, ['set', '--machine', 'core1', 'api.logLevel=debug'])
    for (const deadline = Date.now() + 30_000; ;) {
      const rendered = await Promise.all(nodes.map(lastRendered))
      if (rendered.every((r) => r >= machineChange)) break
      if (Date.now() > deadline) throw new Error(`revision ${machineChange} not rendered everywhere: ${rendered.join(', ')}`)
      await new Promise((res) => setTimeout(res, 200))
    }

    const history = JSON.parse((await cli(core1, ['config', 'history', '--json'])).stdout) as HistoryReply
    const cells = (revision: number) => history.nodes.map((n) => `${n.node} ${renderCell(n, revision)}`)
    // core1 may have rendered both changes at once on a busy machine: then its restart is the machine change's too.
    expect(cells(platformChange)).toEqual([expect.stringMatching(new RegExp(`^core1 (restarted demo-web|with ${machineChange})$`)), 'core2 restarted demo-web'])
    expect(cells(machineChange)).toEqual([expect.stringMatching(/^core1 (unchanged|restarted demo-web)$/), 'core2 unchanged'])
    const table = (await cli(core1, ['config', 'history'])).stdout
    expect(table).toMatch(new RegExp(`\\n${platformChange} .*rename +platform.name +\\S.* +restarted demo-web\\n`))
    expect(table).toMatch(new RegExp(`\\n${machineChange} .*machine core1 .*api.logLevel +\\S.* +unchanged\\n`))
  })
})

describe('config history: what a node did for a revision', () => {
  const report = (settingsRevision: number, restarted: string[] = []) => ({ revision: settingsRevision, settingsRevision, at: '', durationMs: 1, written: [], removed: [], restart: restarted, restarted, started: [], services: 'process' as const, failures: [] })
  const node = { node: 'core2', reports: [report(2, ['demo-web']), report(7, ['demo-web']), report(8)] }

  it('its own report; rendered together with a later revision; not yet; before its oldest kept report', () => {
    expect(renderCell(node, 7)).toBe('restarted demo-web')
    expect(renderCell(node, 8)).toBe('unchanged')
    expect(renderCell(node, 5)).toBe('with 7')
    expect(renderCell(node, 9)).toBe('pending')
    expect(renderCell(node, 1)).toBe('-')
    expect(renderCell({ node: 'core3', error: 'timeout' }, 7)).toBe('?')
  })
})

