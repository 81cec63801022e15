import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { get, SseClient } from './support.js'

// One node running the demo release's services as processes: demo-api follows the watch API
// (onChange: none), demo-web is restarted on a change (the default).
const serviceDir = (node: NodeProcess, service: string): string => join(node.dataDir, 'services', service)
const socket = (node: NodeProcess, service: string): { socketPath: string } => ({ socketPath: join(serviceDir(node, service), 'watch', 'settings.sock') })
const watchFile = (node: NodeProcess, service: string): { url: string, token: string } => JSON.parse(readFileSync(join(serviceDir(node, service), 'watch', 'access.json'), 'utf8'))
const starts = (node: NodeProcess, service: string): number =>
  (readFileSync(join(serviceDir(node, service), 'log', 'output.log'), 'utf8').match(/started pid=/g) ?? []).length

let lastChange = 0
/** Commits a settings change and returns its revision. */
async function set(node: NodeProcess, ...assignments: string[]): Promise<number> {
  const r = await runCli(['--data-dir', node.dataDir, 'config', 'set', ...assignments, '--json'])
  expect(r.code, r.stderr).toBe(0)
  lastChange = JSON.parse(r.stdout).revision
  return lastChange
}

interface Report { settingsRevision: number, written: string[], restart: string[], restarted: string[] }
/** The node's render report once it covers `revision`. */
function rendered(node: NodeProcess, revision: number): Promise<Report> {
  return until(async () => {
    const s = await callControl(join(node.dataDir, 'control.sock'), 'status', {}) as { settings: Report }
    return s.settings.settingsRevision >= revision ? s.settings : undefined
  }, `the render of revision ${revision}`)
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await Promise.resolve().then(probe).catch(() => undefined)
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe('the watch API of a node', () => {
  let node: NodeProcess

  beforeAll(async () => {
    node = NodeProcess.start(join(tempDir('pw-'), 'n'), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.0.1:0', '--dns', 'none', '--services', 'process'])
    await node.ready()
    await until(async () => ((await get(socket(node, 'demo-web'))).status === 200 ? true : undefined), 'the watch sockets')
  })

  afterAll(async () => {
    await node?.stop()
    cleanupTempDirs()
  })

  it('gives a service its own settings, secrets included, and nothing of another service', async () => {
    const api = await get(socket(node, 'demo-api'))
    expect(api.status).toBe(200)
    expect(api.body.service).toBe('demo-api')
    expect(api.index).toBe(api.body.index)
    expect(api.body.settings!['api.sessionSecret']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(api.body.settings!['api.logLevel']).toBeDefined()
    expect(api.body.settings).not.toHaveProperty('platform.name')

    const web = await get(socket(node, 'demo-web'))
    expect(web.body.service).toBe('demo-web')
    expect(web.body.settings!['platform.domain']).toBe('pryv.test')
    expect(Object.keys(web.body.settings!).filter((k) => k.startsWith('api.') && k !== 'api.port')).toEqual([])

    // Loopback HTTP: the token in a service's watch/access.json (mode 0600) names that service, and only it.
    const { url, token } = watchFile(node, 'demo-web')
    expect(statSync(join(serviceDir(node, 'demo-web'), 'watch', 'access.json')).mode & 0o777).toBe(0o600)
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(await get({ url, token })).toMatchObject({ status: 200, body: web.body })
    expect(await get({ url })).toMatchObject({ status: 401, body: { error: { code: 'PRYV_WATCH_UNAUTHORIZED' } } })
    expect((await get({ url, token: `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` })).status).toBe(401)
    expect((await get({ url, token: watchFile(node, 'demo-api').token })).body.service).toBe('demo-api')
    expect((await get(socket(node, 'demo-web'), '?index=x')).body.error!.code).toBe('PRYV_WATCH_BAD_INDEX')
  })

  it('gives the node\'s effective settings: platform values with this node\'s overrides', async () => {
    const before = await get(socket(node, 'demo-web'))
    const revision = await set(node, '--machine', 'core1', 'machine.listenIp=127.0.0.9')
    const after = await get(socket(node, 'demo-web'), `?index=${before.index}&wait=20s`)
    expect(after).toMatchObject({ index: revision, body: { settings: { 'machine.listenIp': '127.0.0.9', 'platform.domain': 'pryv.test' } } })
  })

  it('a blocking client sees every change in revision order, even when it lags behind', async () => {
    const start = (await get(socket(node, 'demo-web'))).index
    const revisions = [await set(node, 'platform.name=First'), await set(node, 'platform.name=Second'), await set(node, 'platform.name=Third')]
    // The client asks only now: every change is still there, one per query, in order.
    const seen: Array<{ index: number, name: unknown }> = []
    let index = start
    while (seen.length < 3) {
      const r = await get(socket(node, 'demo-web'), `?index=${index}&wait=20s`)
      expect(r.index).toBeGreaterThan(index)
      seen.push({ index: r.index, name: r.body.settings!['platform.name'] })
      index = r.index
    }
    expect(seen).toEqual([{ index: revisions[0], name: 'First' }, { index: revisions[1], name: 'Second' }, { index: revisions[2], name: 'Third' }])
    // Waiting at the head: returns on the next change.
    const waiting = get(socket(node, 'demo-web'), `?index=${index}&wait=30s`)
    const fourth = await set(node, 'platform.name=Fourth')
    expect(await waiting).toMatchObject({ index: fourth, body: { settings: { 'platform.name': 'Fourth' } } })
  })

  it('is not woken by a change of settings the service does not use', async () => {
    const web = await get(socket(node, 'demo-web'))
    const api = await get(socket(node, 'demo-api'))
    const startedAt = Date.now()
    const webWait = get(socket(node, 'demo-web'), `?index=${web.index}&wait=3s`)
    const apiWait = get(socket(node, 'demo-api'), `?index=${api.index}&wait=30s`)
    const revision = await set(node, 'api.logLevel=warn')
    expect((await apiWait).index).toBe(revision)
    // demo-web's query ran to its timeout and returned the index it was given.
    const webReply = await webWait
    expect(webReply.index).toBe(web.index)
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(2900)
    const sse = new SseClient(socket(node, 'demo-web').socketPath, web.index)
    try {
      await set(node, 'api.logLevel=error')
      const renamed = await set(node, 'platform.name=After')
      // The first event demo-web gets is the change it uses; the two logLevel changes sent nothing.
      expect((await sse.waitFor(1))[0]).toMatchObject({ id: renamed, settings: { 'platform.name': 'After' } })
    } finally {
      sse.close()
    }
  })

  it('a stream sends every change in order, and resumes after a disconnect from Last-Event-ID without missing one', async () => {
    const first = new SseClient(socket(node, 'demo-web').socketPath)
    const [current] = await first.waitFor(1)
    const a = await set(node, 'platform.name=Stream A')
    await first.waitFor(2)
    first.close()
    expect(first.events.map((e) => e.id)).toEqual([current!.id, a])
    // Away: two changes.
    const b = await set(node, 'platform.name=Stream B')
    const c = await set(node, 'platform.name=Stream C')
    const resumed = new SseClient(socket(node, 'demo-web').socketPath, a)
    try {
      await resumed.waitFor(2)
      const d = await set(node, 'platform.name=Stream D')
      const events = await resumed.waitFor(3)
      expect(events.map((e) => [e.id, e.settings['platform.name']])).toEqual([[b, 'Stream B'], [c, 'Stream C'], [d, 'Stream D']])
    } finally {
      resumed.close()
    }
  })

  it('the demo service reloads its settings through the watch API: same process, new value in use', async () => {
    const inUse = (): { pid: number, index: number, settings: Record<string, unknown> } => JSON.parse(readFileSync(join(serviceDir(node, 'demo-api'), 'data', 'settings.json'), 'utf8'))
    // Earlier tests' renames restart demo-web: let those renders end first.
    await rendered(node, lastChange)
    const before = await until(() => inUse(), 'the demo service to read its settings')
    const startsBefore = starts(node, 'demo-api')
    const revision = await set(node, 'api.logLevel=debug')
    const after = await until(() => (inUse().index === revision ? inUse() : undefined), 'the demo service to use the new settings')
    expect(after.pid).toBe(before.pid)
    expect(after.settings['api.logLevel']).toBe('debug')
    // The watch API answers once the node applied the change; the files follow with the render. They
    // were rewritten, the service was not restarted, and the render report says so.
    const report = await rendered(node, revision)
    expect(report).toMatchObject({ written: ['demo-api/conf/api.json'], restart: [] })
    expect(report.restarted).not.toContain('demo-api')
    expect(JSON.parse(readFileSync(join(serviceDir(node, 'demo-api'), 'conf', 'api.json'), 'utf8')).logLevel).toBe('debug')
    expect(starts(node, 'demo-api')).toBe(startsBefore)
  })

  it('a node restart wakes no watcher whose settings did not change', async () => {
    // A change demo-web does not use: the platform's last settings revision is now past demo-web's index.
    await set(node, 'api.logLevel=warn')
    const web = await get(socket(node, 'demo-web'))
    const api = await get(socket(node, 'demo-api'))
    await node.stop()
    node = NodeProcess.start(node.dataDir, ['start', '--listen', '127.0.0.1:0', '--dns', 'none', '--services', 'process'])
    await node.ready()
    await until(async () => ((await get(socket(node, 'demo-web'))).status === 200 ? true : undefined), 'the watch sockets again')
    expect((await get(socket(node, 'demo-api'))).index).toBe(api.index)
    const startedAt = Date.now()
    const waited = await get(socket(node, 'demo-web'), `?index=${web.index}&wait=2s`)
    expect(waited).toMatchObject({ index: web.index, body: web.body })
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1900)
    // A client from before that change gets the current settings at once.
    expect((await get(socket(node, 'demo-web'), `?index=${web.index - 1}&wait=30s`)).index).toBe(web.index)
  })
})
