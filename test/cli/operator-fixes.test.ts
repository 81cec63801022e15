import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

describe('smaller operator fixes', () => {
  const nodes: NodeProcess[] = []
  let dataDir: string
  const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args])

  beforeAll(async () => {
    dataDir = tempDir()
    nodes.push(NodeProcess.start(dataDir, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.61.40:0', '--dns', 'none']))
    await nodes[0]!.ready()
  })
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    cleanupTempDirs()
  })

  it('a data dir that is a file: a clear error and exit 7 from every command, no stack', async () => {
    const file = join(tempDir(), 'not-a-dir')
    writeFileSync(file, 'x')
    for (const args of [['start'], ['status'], ['init-platform', '--domain', 'pryv.test', '--listen', '127.0.61.41:0', '--dns', 'none'], ['config', 'get']]) {
      const r = await runCli(['--data-dir', file, ...args])
      expect(r.stderr, args.join(' ')).toContain(`error PRYV_DATA_DIR_NOT_A_DIRECTORY: The data dir ${file} is a file, not a directory.`)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(r.code).toBe(7)
    }
  })

  it('a join port already taken: exit 7 naming the address and what to do, no stack', async () => {
    const { createServer } = await import('node:net')
    const taken = createServer()
    await new Promise<void>((res) => taken.listen(7421, '127.0.61.42', res))
    try {
      const r = await runCli(['--data-dir', tempDir(), 'init-platform', '--domain', 'pryv.test', '--listen', '127.0.61.42:7420', '--dns', 'none'])
      expect(r.stderr).toContain('error PRYV_PORT_IN_USE: The join endpoint cannot listen on /ip4/127.0.61.42/tcp/7421: the address is already in use.')
      expect(r.stderr).toContain('mesh port + 1')
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(r.code).toBe(7)
    } finally {
      await new Promise((res) => taken.close(res))
    }
  })

  it('--help shows duration defaults as they are typed', async () => {
    const invite = await runCli(['invite', 'create', '--help'])
    expect(invite.stdout).toContain('(default: 1h)')
    expect(invite.stdout).not.toContain('3600000')
    const init = await runCli(['init-platform', '--help'])
    expect(init.stdout).toMatch(/\(default:\s+30s\)/)
    expect(init.stdout).not.toMatch(/30000\b/)
  })

  it('dns acme list shows the challenges served', async () => {
    expect((await cli('dns', 'acme', 'list')).stdout.trim()).toBe('No challenges.')
    expect((await cli('dns', 'acme', 'set', '_acme-challenge', 'tok-a', '--ttl', '10m')).code).toBe(0)
    expect((await cli('dns', 'acme', 'set', '_acme-challenge.reg', 'tok-b')).code).toBe(0)
    const list = JSON.parse((await cli('dns', 'acme', 'list', '--json')).stdout) as Array<{ name: string, value: string }>
    expect(list.map((c) => [c.name, c.value])).toEqual([['_acme-challenge', 'tok-a'], ['_acme-challenge.reg', 'tok-b']])
    await cli('dns', 'acme', 'rm', '_acme-challenge')
    expect((await cli('dns', 'acme', 'list')).stdout).not.toContain('tok-a')
  })

  it('members list; invite inspect says an invite was used', async () => {
    const created = await cli('invite', 'create', '--json')
    const invite = (JSON.parse(created.stdout) as { invite: string }).invite
    expect(JSON.parse((await cli('invite', 'inspect', invite, '--json')).stdout)).toMatchObject({ status: 'active', used: '0 of 1' })
    const core2 = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', 'core2', '--listen', '127.0.61.42:0', '--dns', 'none'])
    nodes.push(core2)
    await core2.ready()
    expect(JSON.parse((await cli('invite', 'inspect', invite, '--json')).stdout)).toMatchObject({ status: 'used', used: '1 of 1' })
    // Without a node to ask: what the invite holds, and that its state is unknown.
    const offline = JSON.parse((await runCli(['--data-dir', tempDir(), 'invite', 'inspect', invite, '--json'])).stdout)
    expect(offline).toMatchObject({ status: 'unknown (no local node to ask)', role: 'full' })

    const members = JSON.parse((await cli('members', 'list', '--json')).stdout) as Array<{ name: string, self: boolean, role: string }>
    expect(members.map((m) => [m.name, m.self, m.role])).toEqual([['core1', true, 'full'], ['core2', false, 'full']])
    expect((await cli('members', 'list')).stdout).toMatch(/^NAME\s+ROLE\s+WRITER\s+STATE\s+REVISION\s+VERSION\s+CLOCK\ncore1 \*/)
  })
})
