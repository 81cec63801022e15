import { afterAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, type NodeProcess, runCli } from '../support/cli.js'
import { startPlatform } from '../support/platform.js'

describe('config get --consistent', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('on an observer, sees a change acknowledged on another node just before', async () => {
    await startPlatform(nodes, [['obs1', 'observer']])
    const [founder, observer] = nodes as [NodeProcess, NodeProcess]

    for (const name of ['Clinic A', 'Clinic B', 'Clinic C']) {
      const set = await runCli(['--data-dir', founder.dataDir, 'config', 'set', `platform.name=${name}`])
      expect(set.code, set.stderr).toBe(0)
      const got = await runCli(['--data-dir', observer.dataDir, 'config', 'get', 'platform.name', '--consistent', '--json'])
      expect(got.code, got.stderr).toBe(0)
      expect(JSON.parse(got.stdout).values['platform.name']).toBe(name)
    }
  })
})
