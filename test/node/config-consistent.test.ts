import { afterAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']

describe('config get --consistent', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('on an observer, sees a change acknowledged on another node just before', async () => {
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...LOOPBACK])
    nodes.push(founder)
    await founder.ready()
    const { invite } = await callControl(`${founder.dataDir}/control.sock`, 'invite.create', { role: 'observer' }, 15_000) as { invite: string }
    const observer = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', 'obs1', ...LOOPBACK])
    nodes.push(observer)
    await observer.ready()

    for (const name of ['Clinic A', 'Clinic B', 'Clinic C']) {
      const set = await runCli(['--data-dir', founder.dataDir, 'config', 'set', `platform.name=${name}`])
      expect(set.code, set.stderr).toBe(0)
      const got = await runCli(['--data-dir', observer.dataDir, 'config', 'get', 'platform.name', '--consistent', '--json'])
      expect(got.code, got.stderr).toBe(0)
      expect(JSON.parse(got.stdout).values['platform.name']).toBe(name)
    }
  })
})
