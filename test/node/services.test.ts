import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log.js'
import type { NodeContext } from '../../src/node/context.js'
import { type LogEnd, type LogItem, type NodeServices, ServiceOps, type ServicesReply } from '../../src/node/service-ops.js'
import { processRuntime } from '../../src/runtime/process.js'
import { BIN, cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']
const DEMO = ['demo-api', 'demo-web']

async function cli(node: NodeProcess, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return runCli(['--data-dir', node.dataDir, ...args])
}

async function services(node: NodeProcess, args: string[] = []): Promise<ServicesReply> {
  const r = await cli(node, ['services', '--json', ...args])
  return JSON.parse(r.stdout)
}

const nodeIn = (reply: ServicesReply, name: string): NodeServices => reply.nodes.find((n) => n.node === name)!

/** The pids the demo service printed at each start, from its log file on that node. */
function startedPids(node: NodeProcess, service: string): string[] {
  const text = readFileSync(join(node.dataDir, 'services', service, 'log', 'output.log'), 'utf8')
  return [...text.matchAll(/started pid=(\d+)/g)].map((m) => m[1]!)
}

describe('services, logs and restart across a platform of node processes', () => {
  const nodes: NodeProcess[] = []
  let core1: NodeProcess
  let core2: NodeProcess
  let core3: NodeProcess
  let core4: NodeProcess

  beforeAll(async () => {
    const dir = tempDir()
    core1 = NodeProcess.start(join(dir, 'n1'), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...LOOPBACK, '--services', 'process'])
    nodes.push(core1)
    const { invite } = await core1.ready()
    core2 = NodeProcess.start(tempDir(), ['join-platform', invite as string, '--name', 'core2', ...LOOPBACK, '--services', 'process'])
    nodes.push(core2)
    const invite3 = JSON.parse((await cli(core1, ['invite', 'create', '--json'])).stdout).invite
    const invite4 = JSON.parse((await cli(core1, ['invite', 'create', '--role', 'observer', '--json'])).stdout).invite
    await core2.ready()
    core3 = NodeProcess.start(tempDir(), ['join-platform', invite3, '--name', 'core3', ...LOOPBACK, '--services', 'process'])
    nodes.push(core3)
    await core3.ready()
    // An observer that only renders its services' files: it runs none.
    core4 = NodeProcess.start(tempDir(), ['join-platform', invite4, '--name', 'core4', ...LOOPBACK, '--services', 'none'])
    nodes.push(core4)
    await core4.ready()
    // Every member has rendered its files and started its services, healthy when they have a check.
    const expected = ['core1:demo-api,demo-web', 'core2:demo-api,demo-web', 'core3:demo-api,demo-web', 'core4:']
    const deadline = Date.now() + 20_000
    for (;;) {
      const running = (await services(core1)).nodes.map((n) => `${n.node}:${n.services.filter((s) => s.state === 'running' && (s.health === 'none' || s.health === 'healthy')).map((s) => s.name).join(',')}`)
      if (JSON.stringify(running) === JSON.stringify(expected)) break
      if (Date.now() > deadline) throw new Error(`services not running everywhere: ${JSON.stringify(running)}`)
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    cleanupTempDirs()
  })

  it('services: one table over every member, asked from any of them', async () => {
    const r = await cli(core2, ['services'])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toMatch(/^NODE +SERVICE +STATE +HEALTH +UPTIME +RESTARTS +EXIT$/)
    for (const node of ['core1', 'core2 \\*', 'core3']) {
      // HEALTH: - without a health check, healthy with one (the release decides).
      for (const service of DEMO) expect(r.stdout).toMatch(new RegExp(`^${node} +${service} +running +(-|healthy) +\\d+[smhd]( \\d+[smh])? +0 +-$`, 'm'))
    }
    expect(r.stdout).toMatch(/^core4 +- +not run /m)
    expect(r.stdout).toContain('core4 does not run services (started with --services none).')

    const json = await services(core3)
    expect(json.nodes.map((n) => [n.node, n.self, n.runtime])).toEqual([['core1', false, 'process'], ['core2', false, 'process'], ['core3', true, 'process'], ['core4', false, null]])
    expect(nodeIn(json, 'core1').services[0]).toMatchObject({ name: 'demo-api', state: 'running', exitCode: null, restartCount: 0 })
    const one = await services(core1, ['--node', 'core2'])
    expect(one.nodes.map((n) => n.node)).toEqual(['core2'])
  })

  it('logs: the lines a member\'s service printed, with time, node and stream', async () => {
    const r = await cli(core1, ['logs', 'demo-api', '--node', 'core2'])
    expect(r.code, r.stderr).toBe(0)
    const pids = startedPids(core2, 'demo-api')
    expect(pids.length).toBeGreaterThan(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(pids.length)
    expect(lines.at(-1)).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z core2 stdout started pid=${pids.at(-1)} conf=[0-9a-f]{12}$`))

    // Its own services by default; --json gives one object per line.
    const local = await cli(core3, ['logs', 'demo-web', '--json'])
    expect(local.code, local.stderr).toBe(0)
    const items = local.stdout.trim().split('\n').map((l) => JSON.parse(l))
    expect(items.at(-1)).toMatchObject({ node: 'core3', stream: 'stdout', text: expect.stringMatching(/^started pid=/) })

    const future = await cli(core1, ['logs', 'demo-api', '--node', 'core2', '--since', new Date(Date.now() + 3_600_000).toISOString()])
    expect(future).toMatchObject({ code: 0, stdout: '' })
    const recent = await cli(core1, ['logs', 'demo-api', '--node', 'core2', '--since', '1h', '-n', '1'])
    expect(recent.stdout.trim().split('\n')).toHaveLength(1)
  })

  it('restart --node: the service restarts on that member (new pid and start time), healthy when the command returns', async () => {
    const before = nodeIn(await services(core1, ['--node', 'core2']), 'core2').services.find((s) => s.name === 'demo-api')!
    const pidsBefore = startedPids(core2, 'demo-api')
    const r = await cli(core1, ['restart', 'demo-api', '--node', 'core2'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^Restarted demo-api on core2 in \d+(\.\d)? m?s: running( and healthy)?, started \S+Z \(it had been up \d+[smhd].*\)\.$/m)
    const after = nodeIn(await services(core1, ['--node', 'core2']), 'core2').services.find((s) => s.name === 'demo-api')!
    expect(after.state).toBe('running')
    expect(Date.parse(after.startedAt!)).toBeGreaterThan(Date.parse(before.startedAt!))
    await expect.poll(() => startedPids(core2, 'demo-api').length).toBe(pidsBefore.length + 1)
    expect(startedPids(core2, 'demo-api').at(-1)).not.toBe(pidsBefore.at(-1))
    // The other members' demo-api did not move.
    expect(startedPids(core3, 'demo-api')).toHaveLength(1)
  })

  it('logs -f: follows a member\'s service across a restart, and stops on the member when the client is killed', async () => {
    const client = spawn(process.execPath, [BIN, '--data-dir', core1.dataDir, 'logs', 'demo-api', '--node', 'core3', '-f', '-n', '1'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const lines: string[] = []
    createInterface({ input: client.stdout! }).on('line', (l) => lines.push(l))
    try {
      const first = startedPids(core3, 'demo-api').at(-1)
      await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(1)
      expect(lines[0]).toContain(`core3 stdout started pid=${first}`)
      expect(nodeIn(await services(core1, ['--node', 'core3']), 'core3').logStreams).toBe(1)

      const r = await cli(core2, ['restart', 'demo-api', '--node', 'core3'])
      expect(r.code, r.stderr).toBe(0)
      await expect.poll(() => lines.length, { timeout: 10_000 }).toBe(2)
      const second = startedPids(core3, 'demo-api').at(-1)
      expect(second).not.toBe(first)
      expect(lines[1]).toMatch(new RegExp(`Z core3 stdout started pid=${second} conf=`))
    } finally {
      client.kill('SIGKILL')
    }
    // core1's control connection closed, so core1 reset the mesh stream, so core3 stopped streaming.
    await expect.poll(async () => nodeIn(await services(core1, ['--node', 'core3']), 'core3').logStreams, { timeout: 10_000 }).toBe(0)
  })

  it('restart --all: every member that runs the service, one at a time, each healthy before the next', async () => {
    const r = await cli(core4, ['restart', 'demo-web', '--all'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('Restarting demo-web on core1, core2, core3, one at a time (each healthy before the next):')
    expect(r.stdout).toContain('core4: skipped (services not run on this node)')
    expect(r.stdout).toMatch(/core1: restarted in .+, running( and healthy)?, started [\s\S]*core2: restarted in .+, running( and healthy)?, started [\s\S]*core3: restarted in .+, running( and healthy)?, started /)
    expect(r.stdout.trim().split('\n').at(-1)).toBe('demo-web restarted on 3 of 3 nodes.')
    const json = await services(core1)
    const started = ['core1', 'core2', 'core3'].map((n) => Date.parse(nodeIn(json, n).services.find((s) => s.name === 'demo-web')!.startedAt!))
    expect(started).toEqual([...started].sort((a, b) => a - b))
    for (const node of [core1, core2, core3]) expect(startedPids(node, 'demo-web')).toHaveLength(2)
  })

  it('names what exists when the service or the node is unknown, or the node runs no services', async () => {
    const [typo, restart, all] = await Promise.all([
      cli(core1, ['logs', 'demo-apx', '--node', 'core2']),
      cli(core1, ['restart', 'nothing', '--node', 'core3', '--json']),
      cli(core1, ['restart', 'nothing', '--all'])
    ])
    expect(typo.code).toBe(3)
    expect(typo.stderr).toContain("error PRYV_RUNTIME_SERVICE_NOT_FOUND: No service 'demo-apx' on core2 — did you mean 'demo-api'?")
    expect(typo.stderr).toContain('Services there: demo-api, demo-web')

    expect(restart.code).toBe(3)
    expect(JSON.parse(restart.stdout).error).toMatchObject({ code: 'PRYV_RUNTIME_SERVICE_NOT_FOUND', details: { service: 'nothing', services: DEMO } })
    expect(all.code).toBe(3)
    expect(all.stderr).toContain('PRYV_RUNTIME_SERVICE_NOT_FOUND')

    const unknownNode = [['logs', 'demo-api', '--node', 'core9'], ['restart', 'demo-api', '--node', 'core9'], ['services', '--node', 'core9']]
    await Promise.all(unknownNode.map(async (args) => {
      const r = await cli(core2, args)
      expect(r.code, args.join(' ')).toBe(3)
      expect(r.stderr).toContain("error PRYV_NODE_UNKNOWN: Unknown node 'core9' — did you mean 'core1'?")
      expect(r.stderr).toContain('hint: Name a member of the platform: core1, core2, core3, core4.')
    }))

    const notRun = [[core1, ['logs', 'demo-api', '--node', 'core4']], [core4, ['logs', 'demo-api']], [core2, ['restart', 'demo-api', '--node', 'core4']]] as const
    await Promise.all(notRun.map(async ([node, args]) => {
      const r = await cli(node, [...args])
      expect(r.code, args.join(' ')).toBe(4)
      expect(r.stderr).toContain('error PRYV_SERVICES_NOT_RUN: core4 does not run services (it was started with --services none).')
    }))

    const both = await cli(core1, ['restart', 'demo-api', '--node', 'core2', '--all'])
    expect(both.code).toBe(2)
  })

  it('a stopped member is reported unreachable (exit code 5), and the others still answer', async () => {
    await core3.stop()
    const r = await cli(core1, ['services'])
    expect(r.code).toBe(5)
    expect(r.stdout).toMatch(/^core3 +- +unreachable/m)
    expect(r.stdout).toMatch(/core3 did not answer: .+/)
    expect(r.stdout).toMatch(/^core2 +demo-api +running/m)
    const json = await services(core2)
    expect(nodeIn(json, 'core3').error).toMatchObject({ code: 'PRYV_NODE_UNREACHABLE', exitCode: 5 })

    const logs = await cli(core1, ['logs', 'demo-api', '--node', 'core3'])
    expect(logs.code).toBe(5)
    expect(logs.stderr).toContain('error PRYV_NODE_UNREACHABLE: core3 did not answer')

    const all = await cli(core2, ['restart', 'demo-api', '--all'])
    expect(all.code).toBe(5)
    expect(all.stdout).toMatch(/core3: unreachable \(core3 did not answer/)
    expect(all.stdout.trim().split('\n').at(-1)).toBe('demo-api restarted on 2 of 2 nodes; not answering: core3.')
  })
})

describe('service operations on this node, without the mesh', () => {
  afterAll(() => cleanupTempDirs())

  it('a followed log ends with a notice when the service is removed, and errors name the services', async () => {
    const dataDir = tempDir()
    const runtime = processRuntime({ dataDir, baseEnv: { PATH: process.env.PATH ?? '' } })
    const self = { peerId: 'self', name: 'solo', role: 'full' as const, addresses: [], joinedAt: 0 }
    const ctx = { config: { name: 'solo' }, selfId: 'self', replica: { state: { members: new Map([['self', self]]) } }, now: () => Date.now(), log: createLogger('silent') } as unknown as NodeContext
    const ops = new ServiceOps(ctx, () => runtime)
    try {
      await runtime.ensure({ name: 'echo', command: process.execPath, args: ['-e', "console.log('hello'); setInterval(() => {}, 1000)"], stopTimeoutMs: 1000 })
      await runtime.start('echo')
      const items: Array<LogItem | LogEnd> = []
      const follow = (async () => {
        for await (const item of ops.logs({ service: 'echo', follow: true }, new AbortController().signal)) items.push(item)
      })()
      await expect.poll(() => items.length, { timeout: 5000 }).toBe(1)
      expect(items[0]).toMatchObject({ node: 'solo', stream: 'stdout', text: 'hello' })
      await runtime.remove('echo')
      await follow
      expect(items.at(-1)).toEqual({ node: 'solo', ended: 'removed' })

      await expect(ops.restartOn(self, 'echo')).rejects.toMatchObject({ code: 'PRYV_RUNTIME_SERVICE_NOT_FOUND', message: "No service 'echo' on solo.", exitCode: 3 })
      const none = new ServiceOps(ctx, () => undefined)
      await expect((async () => {
        for await (const _ of none.logs({ service: 'echo' }, new AbortController().signal)) { /* nothing */ }
      })()).rejects.toMatchObject({ code: 'PRYV_SERVICES_NOT_RUN', exitCode: 4 })
      expect((await none.list()).nodes).toEqual([{ node: 'solo', self: true, runtime: null, services: [], logStreams: 0 }])
    } finally {
      await runtime.close({ timeoutMs: 1000 })
    }
  })
})
