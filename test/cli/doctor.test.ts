import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { afterAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { callControl } from '../../src/control/client.js'
import { BIN, cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

interface Report { result: string, checks: Array<{ name: string, result: string, detail: string, hint?: string }> }

/** `args`: global options, then doctor's. */
async function doctor(args: string[]): Promise<{ code: number, report: Report }> {
  const r = await runCli(['doctor', '--json', ...args])
  return { code: r.code, report: JSON.parse(r.stdout) as Report }
}
const check = (report: Report, name: string) => report.checks.find((c) => c.name.startsWith(name))

const holders: Server[] = []
const nodes: NodeProcess[] = []
const mounts: string[] = []
afterAll(async () => {
  for (const s of holders) s.close()
  await Promise.all(nodes.map((n) => n.stop()))
  for (const m of mounts) spawnSync('umount', [m])
  cleanupTempDirs()
})

describe('pryv-node doctor before init or join', () => {
  it('a mesh port taken by another process: FAIL with what to do, exit 7', async () => {
    const holder = createServer()
    holders.push(holder)
    await new Promise<void>((res) => holder.listen(0, '127.0.61.20', res))
    const port = (holder.address() as { port: number }).port
    const { code, report } = await doctor(['--data-dir', tempDir(), '--listen', `127.0.61.20:${port}`, '--dns', 'none'])
    expect(check(report, 'port mesh')).toMatchObject({ result: 'FAIL', detail: 'in use by another process' })
    expect(check(report, 'port mesh')!.hint).toContain(`127.0.61.20:${port}`)
    expect(report.result).toBe('FAIL')
    expect(code).toBe(7)
  })

  it('the admin address taken: FAIL when given (--admin), WARN at the default address (the node runs without its admin app)', async () => {
    const holder = createServer()
    holders.push(holder)
    await new Promise<void>((res) => holder.listen(0, '127.0.61.24', res))
    const port = (holder.address() as { port: number }).port
    const { code, report } = await doctor(['--data-dir', tempDir(), '--listen', '127.0.61.24:0', '--dns', 'none', '--admin', `127.0.61.24:${port}`])
    expect(check(report, 'port admin')).toMatchObject({ result: 'FAIL', detail: 'in use by another process' })
    expect(code).toBe(7)
  })

  it('the Docker backend with an engine that is down: FAIL; with auto: WARN', async () => {
    const args = ['--listen', '127.0.61.21:0', '--dns', 'none', '--docker-socket', `${tempDir()}/docker.sock`]
    const down = await runCli(['--data-dir', tempDir(), 'doctor', '--json', ...args, '--services', 'docker'])
    expect(check(JSON.parse(down.stdout), 'Docker engine')).toMatchObject({ result: 'FAIL' })
    expect(down.code).toBe(7)
    const auto = await runCli(['--data-dir', tempDir(), 'doctor', '--json', ...args, '--services', 'auto'])
    expect(check(JSON.parse(auto.stdout), 'Docker engine')).toMatchObject({ result: 'WARN' })
  })

  const root = process.getuid?.() === 0
  it.skipIf(!root)('a data dir on a nearly full disk (a 4 MiB tmpfs): free space FAIL, exit 7', async () => {
    const disk = `${tempDir('pn-doc-')}/disk`
    mkdirSync(disk)
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk], { encoding: 'utf8' })
    expect(mount.status, mount.stderr).toBe(0)
    mounts.push(disk)
    const r = await runCli(['--data-dir', `${disk}/node`, 'doctor', '--json', '--listen', '127.0.61.21:0', '--dns', 'none'])
    expect(check(JSON.parse(r.stdout), 'disk free space')).toMatchObject({ result: 'FAIL' })
    expect(r.code).toBe(7)
  })
})

describe('pryv-node doctor on a running node', () => {
  it('ports served by the node are OK; a member whose clock is 10 s ahead: clock offset FAIL naming it', async () => {
    const port = 20000 + Math.floor(Math.random() * 30000)
    const founderDir = tempDir()
    const founder = NodeProcess.start(founderDir, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', `127.0.61.22:${port}`, '--dns', `127.0.61.22:${port + 2}`])
    nodes.push(founder)
    const invite = (await founder.ready()).invite as string
    // core2 claims a wall clock 10 s ahead in its heartbeats (the test hook of the offset measurement).
    const core2Dir = tempDir()
    const core2 = NodeProcess.adopt(spawn(process.execPath, [BIN, '--data-dir', core2Dir, 'join-platform', invite, '--name', 'core2', '--listen', '127.0.61.23:0', '--dns', 'none', '--json'], {
      env: { ...process.env, PRYV_LOG_LEVEL: 'warn', PRYV_TEST_CLOCK_SKEW_MS: '10000' }, stdio: ['ignore', 'pipe', 'pipe']
    }), core2Dir)
    nodes.push(core2)
    await core2.ready()

    let report: Report | undefined
    let code = 0
    for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
      ;({ code, report } = await doctor(['--data-dir', founderDir]))
      if (check(report, 'clock offset')?.result === 'FAIL') break
      await new Promise((res) => setTimeout(res, 500))
    }
    expect(check(report!, 'clock offset')).toMatchObject({ result: 'FAIL' })
    expect(check(report!, 'clock offset')!.detail).toMatch(/core2 \+(9\.[5-9]|10\.[0-5]) s/)
    expect(check(report!, 'port mesh')).toMatchObject({ result: 'OK', detail: 'served by this node' })
    expect(report!.checks.filter((c) => c.name.startsWith('port DNS')).map((c) => c.detail)).toEqual(['served by this node', 'served by this node'])
    expect(check(report!, 'members reachable')).toMatchObject({ result: 'OK' })
    expect(check(report!, 'version')).toMatchObject({ result: 'OK' })
    expect(code).toBe(7)
  })
})

describe('pryv-node doctor: advertised addresses, asked of the other members through the mesh', () => {
  it('an announced address nobody reaches: FAIL naming it with what to do, exit 7; the reachable one OK', async () => {
    const port = 20000 + Math.floor(Math.random() * 30000)
    const founderDir = tempDir()
    const founder = NodeProcess.start(founderDir, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', `127.0.61.30:${port}`, '--dns', 'none'])
    nodes.push(founder)
    const invite = (await founder.ready()).invite as string
    // core2 announces its real address and one where nothing listens (127.0.61.32: nothing binds it).
    const core2Dir = tempDir()
    const core2 = NodeProcess.start(core2Dir, ['join-platform', invite, '--name', 'core2', '--listen', `127.0.61.31:${port}`, '--announce', `127.0.61.31:${port},127.0.61.32:${port}`, '--dns', `127.0.61.31:${port + 2}`])
    nodes.push(core2)
    await core2.ready()

    // core2 asks the members it hears from; core1 learns core2's join endpoint from core2's heartbeats
    // (until then it would not dial it: WARN). So: each has heard from the other.
    const heard = async (dir: string, name: string) => ((await callControl(join(dir, 'control.sock'), 'status', {})) as { members: Array<{ name: string, alive: boolean }> })
      .members.some((m) => m.name === name && m.alive)
    for (const deadline = Date.now() + 30_000; !(await heard(founderDir, 'core2') && await heard(core2Dir, 'core1'));) {
      if (Date.now() > deadline) throw new Error('core1 and core2 never heard from each other')
      await new Promise((res) => setTimeout(res, 300))
    }
    const { code, report } = await doctor(['--data-dir', core2Dir])
    const reach = (address: string) => report.checks.find((c) => c.name.startsWith('reachable') && c.name.endsWith(address))
    expect(reach(`/ip4/127.0.61.31/tcp/${port}`)).toMatchObject({ result: 'OK' })
    expect(reach(`/ip4/127.0.61.31/tcp/${port}`)!.detail).toMatch(/^from core1 \(\d/)
    expect(reach(`/ip4/127.0.61.31/tcp/${port + 1}`)).toMatchObject({ result: 'OK' })
    expect(reach(`127.0.61.31:${port + 2}`)).toMatchObject({ result: 'OK' })
    const unreachable = reach(`/ip4/127.0.61.32/tcp/${port}`)
    expect(unreachable).toMatchObject({ result: 'FAIL' })
    expect(unreachable!.name).toContain('mesh')
    expect(unreachable!.detail).toMatch(/core1: .*ECONNREFUSED/)
    expect(unreachable!.hint).toContain(`TCP port ${port}`)
    expect(unreachable!.hint).toContain('--announce')
    expect(reach(`/ip4/127.0.61.32/tcp/${port + 1}`)).toMatchObject({ result: 'FAIL' })
    expect(report.result).toBe('FAIL')
    expect(code).toBe(7)
  })
})
