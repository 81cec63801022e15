import { execFile, spawn } from 'node:child_process'
import { Resolver } from 'node:dns/promises'
import { chownSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pingEngine } from '../../src/runtime/index.js'
import { cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'

// The image of scripts/container-image.sh, on the engine of scripts/docker-engine.sh (CI=true makes a
// missing engine a failure, not a skip).
const run = promisify(execFile)
const dockerHost = process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice('unix://'.length) : undefined
const socketPath = process.env.PRYV_TEST_DOCKER_SOCKET ?? dockerHost ?? '/var/run/docker.sock'
const dockerEnv = { ...process.env, DOCKER_HOST: `unix://${socketPath}` }
const BUILD_SCRIPT = resolve(import.meta.dirname, '../../scripts/container-image.sh')
const runId = `${process.pid}-${Date.now()}`
const LABEL = `io.pryv.test=container-${runId}`
const DATA_DIR = '/var/lib/pryv-node'
/** What the demo service logs as its configuration's hash when its config dir is empty. */
const EMPTY_DIR_HASH = 'e3b0c44298fc'
/** The user the image runs as (scripts/container-image.sh), who must own the data dir mounted into it. */
const NODE_UID = 10001

async function engineProblem(): Promise<string | null> {
  try {
    await pingEngine(socketPath, 2_000)
    return null
  } catch {
    return `no Docker engine answers at ${socketPath} (start one with: eval "$(scripts/docker-engine.sh start | tail -1)")`
  }
}

const problem = await engineProblem()
if (problem !== null && process.env.CI === 'true') {
  describe('the node as a container', () => {
    it('has a Docker engine to test against (CI=true)', () => {
      expect.fail(problem)
    })
  })
} else if (problem !== null) {
  console.warn(`[container tests skipped] ${problem}`)
}

const docker = async (args: string[]): Promise<string> => (await run('docker', args, { env: dockerEnv, timeout: 120_000 })).stdout

describe.runIf(problem === null)('a platform of three nodes, each in a container of the image built by scripts/container-image.sh', () => {
  const names = ['core1', 'core2', 'core3']
  /** Each node on its own loopback address (host networking): DNS answers tell the nodes apart. */
  const ips = ['127.0.15.1', '127.0.15.2', '127.0.15.3']
  const nodes: NodeProcess[] = []
  const dns: string[] = []
  const invites: string[] = []
  let image = ''
  let platformId = ''

  /** `docker run` in the foreground, as an operator would: the node's JSON lines come through the CLI. */
  const runNode = (i: number, dataDir: string, args: string[]): NodeProcess => {
    chownSync(dataDir, NODE_UID, NODE_UID)
    const proc = spawn('docker', ['run', '--rm', '--name', `pryv-${runId}-${names[i]}`, '--label', LABEL, '--network', 'host',
      ...volumes(i, dataDir), image, ...args], { env: dockerEnv, stdio: ['ignore', 'pipe', 'pipe'] })
    return NodeProcess.adopt(proc, dataDir)
  }
  /**
   * core2 runs the release's services on the engine, as the README says: the engine's socket, and the
   * data dir at the same path inside as outside (the engine mounts services' config from there).
   */
  const DOCKER_BACKEND = 1
  const volumes = (i: number, dataDir: string): string[] => i === DOCKER_BACKEND
    ? ['-v', `${dataDir}:${dataDir}`, '-e', `PRYV_NODE_DATA_DIR=${dataDir}`, '-v', `${socketPath}:/var/run/docker.sock`, '--group-add', String(statSync(socketPath).gid)]
    : ['-v', `${dataDir}:${DATA_DIR}`]
  /** The image's own CLI, inside a node's container, on the node's control socket. */
  const cli = async (i: number, args: string[]): Promise<any> =>
    JSON.parse(await docker(['exec', `pryv-${runId}-${names[i]}`, 'pryv-node', ...args, '--json']))
  const resolve4 = async (server: string, name: string): Promise<string[]> => {
    const resolver = new Resolver({ timeout: 2_000, tries: 2 })
    resolver.setServers([server])
    return (await resolver.resolve4(name)).sort()
  }
  const upMembers = async (i: number): Promise<string[]> =>
    ((await cli(i, ['status'])).members as Array<{ name: string, alive: boolean }>).filter((m) => m.alive).map((m) => m.name).sort()

  beforeAll(async () => {
    // Cached: a second build with the same inputs only looks the image up.
    image = (await run(BUILD_SCRIPT, [], { env: dockerEnv, timeout: 300_000 })).stdout.trim().split('\n').at(-1)!
    const args = (i: number): string[] => ['--name', names[i]!, '--listen', `${ips[i]}:0`, '--dns', `${ips[i]}:0`, '--admin', 'none', '--json',
      ...(i === DOCKER_BACKEND ? ['--services', 'docker'] : [])]
    const founder = runNode(0, tempDir(), ['init-platform', '--domain', 'pryv.test', ...args(0)])
    nodes.push(founder)
    let ready = await founder.ready(60_000)
    platformId = ready.platformId as string
    dns.push((ready.dns as string[])[0]!)
    let invite = ready.invite as string
    for (const i of [1, 2]) {
      invites.push(invite)
      const node = runNode(i, tempDir(), ['join-platform', invite, ...args(i)])
      nodes.push(node)
      ready = await node.ready(60_000)
      dns.push((ready.dns as string[])[0]!)
      if (i === 1) invite = (await cli(0, ['invite', 'create'])).invite
    }
  }, 360_000)

  afterAll(async () => {
    // Nodes' containers go with their node (--rm), services' outlive it by design: remove this run's.
    for (const label of [LABEL, `io.pryv.platform=${platformId}`]) {
      const ids = (await docker(['ps', '-aq', '--filter', `label=${label}`]).catch(() => '')).split('\n').filter(Boolean)
      if (ids.length > 0) await docker(['rm', '-f', ...ids]).catch(() => {})
    }
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  }, 60_000)

  it('runs as its own user, not root: the node, the CLI in its container, the files in the data dir; it may still bind DNS on port 53', async () => {
    expect((await docker(['exec', `pryv-${runId}-core1`, 'id', '-u'])).trim()).toBe(String(NODE_UID))
    expect(statSync(join(nodes[0]!.dataDir, 'node.json')).uid).toBe(NODE_UID)
    // doctor binds the ports it checks: DNS on port 53 is free to this user (the binary's capability), not denied.
    const report = JSON.parse(await docker(['run', '--rm', '--label', LABEL, '--network', 'host', image,
      'doctor', '--listen', '127.0.15.9:0', '--dns', '127.0.15.9:53', '--json']).catch((e: { stdout: string }) => e.stdout))
    const dnsPorts = (report.checks as Array<{ name: string, result: string, detail: string }>).filter((c) => c.name.startsWith('port DNS'))
    expect(dnsPorts.map((c) => `${c.name}: ${c.detail}`)).toEqual(['port DNS (udp 127.0.15.9:53): free', 'port DNS (tcp 127.0.15.9:53): free'])
  })

  it('joins the three with pryv2 invites, and every member sees all three up', async () => {
    for (const invite of invites) expect(invite).toMatch(/^pryv2\./)
    for (const i of [0, 1, 2]) {
      await expect.poll(() => upMembers(i), { timeout: 30_000, interval: 500 }).toEqual(names)
    }
  })

  it('every node answers DNS for every member, with the member\'s own address', async () => {
    for (const server of dns) {
      for (const [i, name] of names.entries()) {
        await expect.poll(() => resolve4(server, `${name}.pryv.test`).catch((e) => [String(e)]), { timeout: 15_000, interval: 300 }).toEqual([ips[i]])
      }
    }
  })

  it('a node given the engine\'s socket runs the release\'s services as containers, healthy', async () => {
    await expect.poll(async () => {
      const rows = (await cli(0, ['services'])).nodes as Array<{ node: string, services?: Array<{ name: string, state: string, health: string }> }>
      return rows.find((r) => r.node === names[DOCKER_BACKEND])?.services?.map((s) => `${s.name}:${s.state}:${s.health}`).sort()
    }, { timeout: 60_000, interval: 1_000 }).toEqual(['demo-api:running:healthy', 'demo-web:running:healthy'])
    const services = await docker(['ps', '--filter', `label=io.pryv.platform=${platformId}`, '--format', '{{.Names}}'])
    expect(services.trim().split('\n').sort()).toEqual([`pryv-${platformId}-core2-demo-api`, `pryv-${platformId}-core2-demo-web`])
    // The engine mounted the node's data dir, not an empty directory at the same path elsewhere: the
    // service read its rendered configuration and wrote its ready file where the node looks.
    const [, conf] = readFileSync(join(nodes[DOCKER_BACKEND]!.dataDir, 'services/demo-web/data/ready'), 'utf8').trim().split(' ')
    expect(conf).toMatch(/^[0-9a-f]{12}$/)
    expect(conf).not.toBe(EMPTY_DIR_HASH)
  }, 90_000)

  it('`docker stop` stops a node cleanly, and the image\'s default command starts it again with its kept options', async () => {
    const third = nodes[2]!
    await docker(['stop', '--time', '20', `pryv-${runId}-core3`])
    expect(await third.exitCode()).toBe(0)
    await expect.poll(() => upMembers(0), { timeout: 30_000, interval: 500 }).toEqual(['core1', 'core2'])

    // No arguments: CMD is `start`; --listen and --dns come from the data dir's options.json.
    // Without --json it prints no ready event: the members' view says when it is back.
    nodes[2] = runNode(2, third.dataDir, [])
    await expect.poll(() => upMembers(0), { timeout: 30_000, interval: 500 }).toEqual(names)
    // Its own DNS on its kept address (a new port: it was given port 0), answering from its kept state.
    const back = (await cli(2, ['status'])).dns[0] as string
    expect(back).toMatch(/^127\.0\.15\.3:\d+$/)
    await expect.poll(() => resolve4(back, 'core1.pryv.test').catch((e) => [String(e)]), { timeout: 15_000, interval: 300 }).toEqual([ips[0]])
  }, 120_000)
})
