import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

interface RenderReport { revision: number, settingsRevision: number, at: string, written: string[], restart: string[], restarted: string[], started: string[], failures: unknown[] }
interface Status { revision: number, settings: RenderReport | null }

const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none', '--services', 'process']
const status = (node: NodeProcess): Promise<Status> => callControl(join(node.dataDir, 'control.sock'), 'status', {}) as Promise<Status>
const file = (node: NodeProcess, path: string): string => readFileSync(join(node.dataDir, 'services', path), 'utf8')
const starts = (node: NodeProcess, service: string): number =>
  (readFileSync(join(node.dataDir, 'services', service, 'log', 'output.log'), 'utf8').match(/started pid=/g) ?? []).length

async function cli(node: NodeProcess, args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return runCli(['--data-dir', node.dataDir, ...args])
}

/** Commits a change through `node` and returns its revision. */
async function commit(node: NodeProcess, args: string[]): Promise<number> {
  const r = await cli(node, ['config', ...args, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout).revision
}

/** Waits until every node has rendered at least `revision` and returns their reports. */
async function renderedEverywhere(nodes: NodeProcess[], revision: number): Promise<RenderReport[]> {
  const deadline = Date.now() + 15_000
  for (;;) {
    const reports = (await Promise.all(nodes.map(status))).map((s) => s.settings)
    if (reports.every((r) => (r?.settingsRevision ?? 0) >= revision)) return reports as RenderReport[]
    if (Date.now() > deadline) throw new Error(`revision ${revision} not rendered everywhere: ${JSON.stringify(reports)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('platform settings on three node processes', () => {
  const nodes: NodeProcess[] = []
  let initial: string

  beforeAll(async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'base.yml'), 'platform:\n  name: Hospital demo\napi:\n  port: 8080\n')
    const founder = NodeProcess.start(join(dir, 'n1'), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--settings', join(dir, 'base.yml'), ...LOOPBACK])
    nodes.push(founder)
    const { invite } = await founder.ready()
    const second = NodeProcess.start(tempDir(), ['join-platform', invite as string, '--name', 'core2', ...LOOPBACK])
    nodes.push(second)
    const invite2 = JSON.parse((await cli(founder, ['invite', 'create', '--json'])).stdout).invite
    await second.ready()
    const third = NodeProcess.start(tempDir(), ['join-platform', invite2, '--name', 'core3', ...LOOPBACK])
    nodes.push(third)
    await third.ready()
    await renderedEverywhere(nodes, 2)
    initial = file(founder, 'demo-web/conf/web.yml')
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    cleanupTempDirs()
  })

  it('renders the base settings and a generated secret on every node, and starts its services', async () => {
    for (const node of nodes) {
      expect(file(node, 'demo-web/conf/web.yml')).toBe(initial)
      expect(initial).toContain('title: Hospital demo')
      expect(JSON.parse(file(node, 'demo-api/conf/api.json')).server.port).toBe(8080)
      await expect.poll(() => starts(node, 'demo-api') + starts(node, 'demo-web'), { timeout: 10_000 }).toBe(2)
    }
    const secret = JSON.parse(file(nodes[0]!, 'demo-api/conf/api.json')).session.secret
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(JSON.parse(file(nodes[2]!, 'demo-api/conf/api.json')).session.secret).toBe(secret)
    const shown = await cli(nodes[1]!, ['config', 'get', 'api.sessionSecret'])
    expect(shown.stdout).toContain('••••')
    expect(shown.stdout).not.toContain(secret)
  })

  it('a platform value reaches every node, and only its consuming service restarts', async () => {
    const apiBefore = nodes.map((n) => file(n, 'demo-api/conf/api.json'))
    const dry = await cli(nodes[1]!, ['config', 'set', 'platform.name=Renamed', '--dry-run'])
    expect(dry.stdout).toMatch(/core1: demo-web\/conf\/web.yml, demo-web\/templates\/index.html; restart demo-web/)
    expect(dry.stdout).toMatch(/core3: .*restart demo-web/)

    const revision = await commit(nodes[1]!, ['set', 'platform.name=Renamed', '-m', 'rename'])
    const reports = await renderedEverywhere(nodes, revision)
    for (const [i, node] of nodes.entries()) {
      expect(file(node, 'demo-web/conf/web.yml')).toContain('title: Renamed')
      expect(file(node, 'demo-api/conf/api.json')).toBe(apiBefore[i])
      expect(reports[i]).toMatchObject({ restart: ['demo-web'], restarted: ['demo-web'], failures: [] })
      expect(starts(node, 'demo-api')).toBe(1)
      await expect.poll(() => starts(node, 'demo-web'), { timeout: 10_000 }).toBe(2)
    }
    // Rolling restart (budget 1): each member restarted only after the one before it (by name) was done.
    const finished = reports.map((r) => Date.parse(r.at))
    expect(finished).toEqual([...finished].sort((a, b) => a - b))
    const history = JSON.parse((await cli(nodes[2]!, ['config', 'history', '--json'])).stdout)
    expect(history.records.at(-1)).toMatchObject({ revision, author: 'core2', message: 'rename', target: 'platform' })
    // Every member's own render result, as the node the command ran on gathered them.
    for (const n of history.nodes) {
      expect(n.reports.find((r: RenderReport) => r.settingsRevision === revision), n.node).toMatchObject({ restarted: ['demo-web'] })
    }
    const table = (await cli(nodes[2]!, ['config', 'history'])).stdout
    expect(table).toMatch(new RegExp(`${revision} .*rename .*platform.name +restarted demo-web +restarted demo-web +restarted demo-web`))
  })

  it('a machine override changes the files of that node only', async () => {
    const before = nodes.map((n) => file(n, 'demo-api/conf/api.json'))
    const revision = await commit(nodes[0]!, ['set', '--machine', 'core3', 'api.logLevel=debug'])
    const reports = await renderedEverywhere(nodes, revision)
    expect(JSON.parse(file(nodes[2]!, 'demo-api/conf/api.json')).logLevel).toBe('debug')
    // demo-api follows its settings through the watch API (onChange: none): its files change, it is not restarted.
    expect(reports[2]).toMatchObject({ written: ['demo-api/conf/api.json'], restart: [], restarted: [] })
    for (const i of [0, 1]) {
      expect(file(nodes[i]!, 'demo-api/conf/api.json')).toBe(before[i])
      expect(reports[i]).toMatchObject({ restart: [], restarted: [] })
    }
    const explained = await cli(nodes[0]!, ['config', 'get', 'api.logLevel', '--explain', '--machine', 'core3'])
    expect(explained.stdout).toMatch(/api.logLevel = "debug" on core3 \(from machine\)/)
  })

  it('refuses a change that breaks validation, on every node, and nothing changes anywhere', async () => {
    const head = (await status(nodes[0]!)).revision
    const files = nodes.map((n) => file(n, 'demo-api/conf/api.json'))
    const bad = await cli(nodes[1]!, ['config', 'set', 'api.port=99999', 'platform.nme=x'])
    expect(bad.code).toBe(3)
    expect(bad.stderr).toMatch(/'api.port' must be between 1 and 65535[\s\S]*did you mean 'platform.name'/)
    expect(bad.stderr).not.toContain('    at ')
    const broken = await cli(nodes[2]!, ['config', 'unset', 'api.sessionSecret'])
    expect(broken.code).toBe(3)
    expect(broken.stderr).toContain("'api.sessionSecret' is required and has no value")
    for (const [i, node] of nodes.entries()) {
      expect((await status(node)).revision).toBe(head)
      expect(file(node, 'demo-api/conf/api.json')).toBe(files[i])
    }
  })

  it('rollback restores the files of every node', async () => {
    const history = JSON.parse((await cli(nodes[0]!, ['config', 'history', '--json'])).stdout)
    const first = history.records[0].revision
    const revision = await commit(nodes[0]!, ['rollback', String(first)])
    await renderedEverywhere(nodes, revision)
    for (const node of nodes) expect(file(node, 'demo-web/conf/web.yml')).toBe(initial)
    const diff = await cli(nodes[0]!, ['config', 'diff'])
    expect(diff.stdout).toContain('platform.name: "Renamed" → "Hospital demo"')
  })

  it('a node that was down catches up and renders the latest revision, with its local --set on top', async () => {
    await nodes[2]!.kill()
    const revision = await commit(nodes[0]!, ['set', 'platform.name=While away'])
    const restarted = NodeProcess.start(nodes[2]!.dataDir, ['start', ...LOOPBACK, '--set', 'api.logLevel=warn'])
    nodes[2] = restarted
    await restarted.ready()
    await renderedEverywhere(nodes, revision)
    expect(file(restarted, 'demo-web/conf/web.yml')).toContain('title: While away')
    expect(JSON.parse(file(restarted, 'demo-api/conf/api.json')).logLevel).toBe('warn')
    const explained = await cli(restarted, ['config', 'get', 'api.logLevel', '--explain'])
    expect(explained.stdout).toMatch(/from cli/)
  })

  it('init-platform with an invalid settings file fails cleanly and creates nothing', async () => {
    const dir = tempDir()
    writeFileSync(join(dir, 'base.yml'), 'platform:\n  name: [unclosed\n')
    const r = await runCli(['--data-dir', join(dir, 'n'), 'init-platform', '--domain', 'pryv.test', '--name', 'x', '--settings', join(dir, 'base.yml'), ...LOOPBACK])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/error PRYV_SETTINGS_INVALID[\s\S]*base.yml:\d+:\d+: invalid YAML/)
    expect(r.stderr).not.toContain('    at ')
    expect(existsSync(join(dir, 'n'))).toBe(false)
  })
})
