import { execFile, spawn } from 'node:child_process'
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { DEMO_1_1, DEMO_1_2_UNHEALTHY, editYaml, writeText } from '../release/helpers.js'

interface Report { settingsRevision: number, at: string, release?: { version: string }, started: string[], restarted: string[], failures: unknown[] }
interface History { nodes: Array<{ node: string, reports?: Report[] }> }
interface ServiceRow { node: string, services?: Array<{ name: string, state: string, health: string }> }

const run = promisify(execFile)
const engineSocket = process.env.PRYV_TEST_DOCKER_SOCKET
const backends = [
  { name: 'process', args: ['--services', 'process'] },
  ...(engineSocket || process.env.CI ? [{ name: 'docker', args: ['--services', 'docker', '--docker-socket', engineSocket ?? '/nonexistent.sock'] }] : [])
]
if (!engineSocket && !process.env.CI) console.warn('release rollouts on docker skipped: no engine (eval "$(scripts/docker-engine.sh start | tail -1)")')

describe.each(backends)('releases rolled out on three nodes ($name backend)', ({ name: backend, args }) => {
  const nodes: NodeProcess[] = []
  const names = ['core1', 'core2', 'core3']
  /** Each node on its own loopback address, so that DNS answers tell the nodes apart. */
  const ips = ['127.0.0.21', '127.0.0.22', '127.0.0.23']
  let dnsPort = 0
  const cli = (args: string[], node = nodes[0]!) => runCli(['--data-dir', node.dataDir, ...args], { timeoutMs: 120_000 })
  const json = async (args: string[], node = nodes[0]!): Promise<any> => {
    const r = await cli([...args, '--json'], node)
    expect(r.code, `${r.stderr}\n--- node ${node.dataDir} ---\n${node.stderr.slice(-3000)}`).toBe(0)
    return lastJson(r.stdout)
  }
  const reports = async (): Promise<Record<string, Report[]>> =>
    Object.fromEntries(((await json(['config', 'history'])) as History).nodes.map((n) => [n.node, n.reports ?? []]))

  beforeAll(async () => {
    const common = (i: number): string[] => ['--listen', `${ips[i]}:0`, '--dns', `${ips[i]}:0`, ...args]
    const founder = NodeProcess.start(join(tempDir(), 'n'), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...common(0)])
    nodes.push(founder)
    const ready = await founder.ready(60_000)
    dnsPort = Number((ready.dns as string[])[0]!.split(':')[1])
    let invite = ready.invite
    for (const [i, name] of names.slice(1).entries()) {
      const node = NodeProcess.start(join(tempDir(), 'n'), ['join-platform', invite as string, '--name', name, ...common(i + 1)])
      nodes.push(node)
      await node.ready(60_000)
      invite = (await json(['invite', 'create'])).invite
    }
    await json(['config', 'set', 'platform.name=Hospital', 'api.corsOrigins=["https://A.example/","https://a.example"]'])
    const deadline = Date.now() + 60_000
    while (!(await json(['release', 'status'])).complete) {
      if (Date.now() > deadline) throw new Error('the first release never became healthy everywhere')
      await new Promise((r) => setTimeout(r, 200))
    }
  }, 180_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    if (backend === 'docker') {
      // Containers outlive their node by design; remove this platform's.
      await removeContainers(engineSocket!, JSON.parse(readFileSync(join(nodes[0]!.dataDir, 'node.json'), 'utf8')).platformId)
    }
    cleanupTempDirs()
  })

  it('--dry-run shows the settings migration and what changes on each node, and applies nothing', async () => {
    const r = await json(['release', 'apply', DEMO_1_1, '--dry-run'])
    expect(r).toMatchObject({ dryRun: true, from: { version: '1.0.0' }, to: { version: '1.1.0' } })
    expect(r.migration.join('\n')).toMatch(/platform\.name.*platform\.title/)
    expect(r.nodes.map((n: { node: string }) => n.node)).toEqual(names)
    expect((await json(['release', 'status'])).current.version).toBe('1.0.0')
  })

  it('a new version with a settings migration rolls out in waves, the canary first, and every service is healthy', async () => {
    const out = await cli(['release', 'apply', DEMO_1_1, '--wait', '-m', 'upgrade', '--json'], nodes[1])
    expect(out.code, out.stderr).toBe(0)
    // Every member reported its images ready before the release was committed (JSON lines, then the result).
    const events = out.stdout.trim().split('\n').map((l) => JSON.parse(l))
    expect(events.filter((e) => e.event === 'pulled').map((e) => e.node).sort()).toEqual(names)
    const r = events.at(-1)
    expect(r).toMatchObject({ outcome: 'done', to: { version: '1.1.0' } })
    const status = await json(['release', 'status'])
    expect(status.current).toMatchObject({ version: '1.1.0', kind: 'apply', message: 'upgrade' })
    expect(status.nodes.map((n: { state: string }) => n.state)).toEqual(['done', 'done', 'done'])
    // The migration renamed the key and reshaped the list (code step), once for the whole platform.
    expect((await json(['config', 'get'])).values).toMatchObject({ 'platform.title': 'Hospital', 'api.corsOrigins': ['https://a.example'] })
    // demo-web got the renamed setting through its environment, on every node.
    const logs = await cli(['logs', 'demo-web', '--node', 'core3', '--tail', '5'])
    expect(logs.stdout).toMatch(/title=Hospital/)
    // Waves of one (the default budget): core1 (canary), then core2, then core3 finished.
    const byNode = await reports()
    const finished = names.map((n) => Date.parse(byNode[n]!.findLast((x) => x.release?.version === '1.1.0' && x.restarted.length > 0)!.at))
    expect(finished[0]).toBeLessThan(finished[1]!)
    expect(finished[1]).toBeLessThan(finished[2]!)
  }, 180_000)

  it('a version that fails its health gate stops at the canary and the platform rolls back by itself', async () => {
    const r = await cli(['release', 'apply', DEMO_1_2_UNHEALTHY, '--wait', '--json'])
    expect(r.code, r.stderr).toBe(8)
    expect(lastJson(r.stdout)).toMatchObject({ outcome: 'rolled-back' })
    const status = await json(['release', 'status'])
    expect(status.current).toMatchObject({ kind: 'rollback', automatic: true, version: '1.1.0', message: expect.stringMatching(/health gate failed on core1: demo-api/) })
    expect(status.nodes.map((n: { state: string }) => n.state)).toEqual(['done', 'done', 'done'])
    // Only the canary ever ran 1.2.0.
    const byNode = await reports()
    for (const n of ['core2', 'core3']) expect(byNode[n]!.some((x) => x.release?.version === '1.2.0')).toBe(false)
    const services = (await json(['services'])).nodes as ServiceRow[]
    for (const row of services) {
      expect(row.services?.map((s) => `${s.name}:${s.state}:${s.health}`).sort()).toEqual(['demo-api:running:healthy', 'demo-web:running:healthy'])
    }
    expect((await json(['config', 'get'])).values['platform.title']).toBe('Hospital')
  }, 180_000)

  it('a node whose service turns unhealthy leaves that service\'s DNS names within seconds, and comes back', async () => {
    /** Every address answered for `name` over a few queries (answers are weighted subsets). */
    const answered = async (name: string): Promise<string[]> => {
      const seen = new Set<string>()
      for (let i = 0; i < 12; i++) {
        const { stdout } = await run('dig', [`@${ips[0]}`, '-p', String(dnsPort), '+short', '+tries=1', '+time=2', `${name}.pryv.test`, 'A'])
        for (const a of stdout.trim().split('\n').filter(Boolean)) seen.add(a)
      }
      return [...seen].sort()
    }
    const until = async (what: () => Promise<boolean>, message: () => Promise<string> | string): Promise<void> => {
      const deadline = Date.now() + 15_000
      while (!(await what())) {
        if (Date.now() > deadline) throw new Error(await message())
        await new Promise((r) => setTimeout(r, 300))
      }
    }
    const status = async (): Promise<string> => JSON.stringify({ services: await json(['services']), members: (await json(['status'])).members })
    await until(async () => (await answered('reg')).length === 3, async () => `reg is not answered by every node: ${await answered('reg')} ${await status()}`)
    // demo-api's health check reads this file: without it, demo-api on core2 turns unhealthy.
    const ready = join(nodes[1]!.dataDir, 'services', 'demo-api', 'data', 'ready')
    const content = readFileSync(ready, 'utf8')
    rmSync(ready)
    // core2 leaves reg (its demo-api is unhealthy) but not sw (its demo-web is healthy). Both are read
    // in one probe: under load, the answering node may see a live member as down for a moment (liveness
    // is on the answer path, issue 11), so the probe is repeated rather than read once.
    await until(async () => {
      const [reg, sw] = await Promise.all([answered('reg'), answered('sw')])
      return !reg.includes(ips[1]!) && sw.includes(ips[1]!)
    }, async () => `core2 should answer for sw but not for reg: reg ${await answered('reg')}, sw ${await answered('sw')}; ${await status()}`)
    writeFileSync(ready, content)
    await until(async () => (await answered('reg')).includes(ips[1]!), () => 'core2 never came back to reg')
  }, 60_000)

  it('refuses bundles that cannot be applied, with the reason, and changes nothing', async () => {
    const before = (await json(['status'])).revision
    const missing = await cli(['release', 'apply', '/nonexistent/bundle'])
    expect(missing.code).toBe(3)
    expect(missing.stderr).toMatch(/PRYV_RELEASE_NOT_FOUND/)
    const noPath = join(tempDir(), 'demo-3')
    cpSync(DEMO_1_1, noPath, { recursive: true })
    editYaml(noPath, 'release.yaml', (m) => { m.version = '3.0.0' })
    // A migration past the running version that stops short of the target: no path to 3.0.0 (a plain
    // bump, with no migration past the running version, applies as it is: test/release/plain-bump.test.ts).
    writeText(noPath, 'migrations/1.1.0-to-2.0.0.yaml', 'from: 1.1.0\nto: 2.0.0\nsteps: []\n')
    const r = await cli(['release', 'apply', noPath])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/1\.1\.0.*3\.0\.0/)
    if (backend === 'docker') {
      const unpullable = join(tempDir(), 'demo-pull')
      cpSync(DEMO_1_1, unpullable, { recursive: true })
      editYaml(unpullable, 'release.yaml', (m) => {
        m.version = '1.1.1'
        m.services['demo-api'].image = `${process.env.PRYV_TEST_REGISTRY ?? '127.0.0.1:5055'}/nope/missing:1`
      })
      writeText(unpullable, 'migrations/1.1.0-to-1.1.1.yaml', 'from: 1.1.0\nto: 1.1.1\nsteps: []\n')
      const pull = await cli(['release', 'apply', unpullable])
      expect(pull.stderr).toMatch(/PRYV_RELEASE_PULL_FAILED[\s\S]*core1/)
      expect(pull.code).toBe(5)
    }
    expect((await json(['status'])).revision).toBe(before)
    expect((await json(['release', 'status'])).current.version).toBe('1.1.0')
  }, 120_000)

  it('`release rollback` goes back to the release before, with the settings as they were', async () => {
    const r = await json(['release', 'rollback', '--wait'], nodes[2])
    expect(r).toMatchObject({ outcome: 'done', from: '1.1.0', to: '1.0.0' })
    expect((await json(['config', 'get'])).values).toMatchObject({ 'platform.name': 'Hospital' })
    expect((await json(['release', 'status'])).current).toMatchObject({ kind: 'rollback', version: '1.0.0', automatic: false })
  }, 180_000)

  it('a member whose heartbeats are late is waited for: it pulls before the commit, and the canary still goes first', async () => {
    const [canary, core2] = [nodes[0]!, nodes[1]!]
    const alive = async (name: string): Promise<boolean> => ((await json(['status'], core2)).members as Array<{ name: string, alive: boolean }>).find((m) => m.name === name)!.alive
    const lines: any[] = []
    let exited: Promise<number> | undefined
    canary.proc.kill('SIGSTOP')
    try {
      await expect.poll(() => alive('core1'), { timeout: 20_000, interval: 300 }).toBe(false)
      const apply = spawn(process.execPath, [BIN, '--data-dir', core2.dataDir, 'release', 'apply', DEMO_1_1, '--wait', '-m', 'late canary', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
      exited = new Promise((res) => apply.on('exit', (code) => res(code ?? 1)))
      let buffer = ''
      apply.stdout.on('data', (d) => {
        buffer += d
        const parts = buffer.split('\n')
        buffer = parts.pop()!
        for (const l of parts.filter(Boolean)) lines.push(JSON.parse(l))
      })
      // The others have pulled (or the apply is over): only the stopped canary can be missing now.
      const pulledBy = (): string[] => lines.filter((e) => e.event === 'pulled').map((e) => e.node)
      await expect.poll(async () => pulledBy().includes('core2') && pulledBy().includes('core3') || apply.exitCode !== null, { timeout: 60_000, interval: 200 }).toBe(true)
    } finally {
      canary.proc.kill('SIGCONT')
    }
    expect(await exited).toBe(0)
    expect(lines.filter((e) => e.event === 'pulled').map((e) => e.node).sort()).toEqual(names)
    expect(lines.at(-1)).toMatchObject({ outcome: 'done', to: { version: '1.1.0' } })
    const byNode = await reports()
    const finished = names.map((n) => Date.parse(byNode[n]!.findLast((x) => x.release?.version === '1.1.0' && x.restarted.length > 0)!.at))
    expect(finished[0]).toBeLessThan(finished[1]!)
    expect(finished[1]).toBeLessThan(finished[2]!)
  }, 180_000)

  it.runIf(backend === 'docker')('`release pull` has every member pull the images it lacks, with progress events', async () => {
    const image = `${process.env.PRYV_TEST_REGISTRY ?? '127.0.0.1:5055'}/test/busybox:1`
    const { default: Docker } = await import('dockerode')
    await new Docker({ socketPath: engineSocket! }).getImage(image).remove({ force: true }).catch(() => undefined)
    const bundle = join(tempDir(), 'demo-registry')
    cpSync(DEMO_1_1, bundle, { recursive: true })
    editYaml(bundle, 'release.yaml', (m) => { m.version = '1.1.2'; m.services['demo-api'].image = image })
    writeText(bundle, 'migrations/1.1.0-to-1.1.2.yaml', 'from: 1.1.0\nto: 1.1.2\nsteps: []\n')
    const out = await cli(['release', 'pull', bundle, '--json'])
    expect(out.code, out.stderr).toBe(0)
    const events = out.stdout.trim().split('\n').map((l) => JSON.parse(l))
    // The three nodes share one engine: this node shows its progress events when it is the one that
    // pulls; when another member's pull got there first, that member reports the image pulled.
    const progressed = events.some((e) => e.event === 'pull' && e.image === image && typeof e.status === 'string')
    const pulledElsewhere = events.some((e) => e.event === 'pulled' && e.node !== names[0] && (e.pulled ?? []).includes(image))
    expect(progressed || pulledElsewhere, JSON.stringify(events)).toBe(true)
    expect(events.filter((e) => e.event === 'pulled').map((e) => e.node).sort()).toEqual(names)
    expect(events.flatMap((e) => e.pulled ?? [])).toContain(image)
    expect(events.at(-1)).toMatchObject({ version: '1.1.2', images: expect.arrayContaining([image]) })
    await new Docker({ socketPath: engineSocket! }).getImage(image).inspect()
  }, 60_000)

  it.runIf(backend === 'docker')('a container stopped behind the node\'s back is started again (drift repaired)', async () => {
    const { default: Docker } = await import('dockerode')
    const platformId = JSON.parse(readFileSync(join(nodes[0]!.dataDir, 'node.json'), 'utf8')).platformId
    await new Docker({ socketPath: engineSocket! }).getContainer(`pryv-${platformId}-core2-demo-web`).stop({ t: 1 })
    // The node notices within its reconcile period (15 s), starts it again, and reports the drift once it is healthy.
    const deadline = Date.now() + 40_000
    for (;;) {
      const row = ((await json(['services', '--node', 'core2'])).nodes as ServiceRow[])[0]!
      const running = row.services?.find((x) => x.name === 'demo-web')?.state === 'running'
      const reported = (await reports()).core2!.some((x) => (x as Report & { drifted?: string[] }).drifted?.includes('demo-web'))
      if (running && reported) break
      if (Date.now() > deadline) throw new Error(`demo-web was not started again and reported: ${JSON.stringify(row)}`)
      await new Promise((r) => setTimeout(r, 500))
    }
  }, 60_000)
})

/** One JSON document, or JSON lines (commands that stream progress) whose last is the result. */
function lastJson(stdout: string): any {
  try {
    return JSON.parse(stdout)
  } catch {
    return JSON.parse(stdout.trim().split('\n').at(-1)!)
  }
}

/** Removes every container of a platform (they carry its label), through the engine API. */
async function removeContainers(socket: string, platformId: string): Promise<void> {
  const { default: Docker } = await import('dockerode')
  const docker = new Docker({ socketPath: socket })
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`io.pryv.platform=${platformId}`] }) })
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true })))
}
