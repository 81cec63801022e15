import { afterAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

const args = (i: number): string[] => ['--listen', `127.0.19.${i + 1}:0`, '--dns', 'none', '--admin', 'none']

describe('registry users of a removed core', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('are shown with a warning and a hint by `registry users` once their core is removed', async () => {
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...args(0)])
    nodes.push(founder)
    await founder.ready()
    const control = (method: string, params: Record<string, unknown> = {}) => callControl(`${founder.dataDir}/control.sock`, method, params, 15_000)
    const { invite } = await control('invite.create', { role: 'observer' }) as { invite: string }
    const core2 = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', 'core2', ...args(1)])
    nodes.push(core2)
    await core2.ready()
    const user = (name: string, core: string) => ({ username: name, core, fields: { email: `${name}@example.com` }, unique: ['email'] })
    await control('registry.import', { users: [user('alice01', 'core1'), user('bob0001', 'core2'), user('carol01', 'core2')] })

    const before = await runCli(['--data-dir', founder.dataDir, 'registry', 'users'])
    expect(before.code).toBe(0)
    expect(before.stderr).not.toContain('warning')

    expect((await runCli(['--data-dir', founder.dataDir, 'members', 'remove', 'core2'])).code).toBe(0)
    const after = await runCli(['--data-dir', founder.dataDir, 'registry', 'users'])
    expect(after.code).toBe(0)
    expect(after.stderr).toContain('warning  users on cores that are not members of the platform: core2=2; nothing serves them')
    expect(after.stderr).toContain('/admin/servers/<old>/rename/<new>')
    const json = JSON.parse((await runCli(['--data-dir', founder.dataDir, 'registry', 'users', '--json'])).stdout) as { orphaned: Record<string, number> }
    expect(json.orphaned).toEqual({ core2: 2 })
  }, 60_000)
})
