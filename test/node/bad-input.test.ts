import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeInvite, encodeInvite, type Invite } from '../../src/membership/invite.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']

/** Every refused command: a clear code and message, no stack trace, and the data dir left as it was. */
async function expectRefusedJoin(invite: string, exit: number, code: string, message: RegExp, extra: string[] = []): Promise<string> {
  const dir = tempDir()
  const r = await runCli(['--data-dir', dir, 'join-platform', invite, '--name', 'newcomer', ...LOOPBACK, ...extra])
  expect(r.stderr).toContain(`error ${code}:`)
  expect(r.stderr).toMatch(message)
  expect(r.stderr).not.toMatch(/\n\s+at /)
  expect(r.code).toBe(exit)
  expect(readdirSync(dir)).toEqual([])
  return r.stderr
}

describe('bad input to init, join and invites', () => {
  let founder: NodeProcess
  let invite: Invite

  beforeAll(async () => {
    founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...LOOPBACK])
    invite = decodeInvite((await founder.ready()).invite as string)
  })

  afterAll(async () => {
    await founder.kill()
    cleanupTempDirs()
  })

  const reencode = (changes: Partial<Invite>): string => encodeInvite({ ...invite, ...changes })

  it('malformed invites', async () => {
    await expectRefusedJoin('hello', 3, 'PRYV_INVITE_MALFORMED', /does not start with "pryv2\."/)
    const good = encodeInvite(invite)
    await expectRefusedJoin(good.slice(0, -12), 3, 'PRYV_INVITE_MALFORMED', /checksum does not match|no checksum/)
    await expectRefusedJoin(reencode({ addresses: ['/ip4/127.0.0.1/tcp/1'] }), 3, 'PRYV_INVITE_MALFORMED', /not a multiaddr ending in \/p2p/)
  })

  it('an invite for another platform', async () => {
    await expectRefusedJoin(reencode({ platformId: 'another0platform' }), 4, 'PRYV_INVITE_WRONG_PLATFORM', /another platform/)
  })

  it('an invite of the old format (it carried the platform key)', async () => {
    await expectRefusedJoin(`pryv1.${encodeInvite(invite).slice('pryv2.'.length)}`, 3, 'PRYV_INVITE_OUTDATED', /old format/)
  })

  it('expired, revoked and unknown invites', async () => {
    await expectRefusedJoin(reencode({ expiresAt: Date.now() - 1000 }), 4, 'PRYV_INVITE_EXPIRED', /expired at/)

    const created = await runCli(['--data-dir', founder.dataDir, 'invite', 'create', '--json'])
    const revocable = JSON.parse(created.stdout) as { invite: string, id: string }
    expect((await runCli(['--data-dir', founder.dataDir, 'invite', 'revoke', revocable.id])).code).toBe(0)
    await expectRefusedJoin(revocable.invite, 4, 'PRYV_INVITE_REVOKED', /revoked/)

    await expectRefusedJoin(reencode({ token: 'forged-token' }), 4, 'PRYV_INVITE_UNKNOWN', /does not know this invite/)
  })

  it('unreachable addresses: says which were tried', async () => {
    const peer = invite.addresses[0]!.split('/p2p/')[1]
    const stderr = await expectRefusedJoin(reencode({ addresses: [`/ip4/127.0.0.1/tcp/9/p2p/${peer}`] }), 5, 'PRYV_PLATFORM_UNREACHABLE', /No member named in the invite could be reached/)
    expect(stderr).toContain('/ip4/127.0.0.1/tcp/9/p2p/')
    expect(stderr).toContain('connection refused')
  })

  it('a name already taken, and a name that is not a DNS label', async () => {
    const inv = JSON.parse((await runCli(['--data-dir', founder.dataDir, 'invite', 'create', '--json'])).stdout).invite
    const dir = tempDir()
    const r = await runCli(['--data-dir', dir, 'join-platform', inv, '--name', 'core1', ...LOOPBACK])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('PRYV_NAME_TAKEN')
    expect(readdirSync(dir)).toEqual([])
    const bad = await runCli(['--data-dir', tempDir(), 'join-platform', inv, '--name', 'Not_A_Label', ...LOOPBACK])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('PRYV_NAME_INVALID')
  })

  it('a data dir that is already initialised', async () => {
    const r = await runCli(['--data-dir', founder.dataDir, 'init-platform', '--domain', 'pryv.test', ...LOOPBACK])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('PRYV_ALREADY_INITIALISED')
  })

  it('a data dir that is not writable', async () => {
    const file = `${tempDir()}/a-file`
    writeFileSync(file, '')
    const r = await runCli(['--data-dir', `${file}/node`, 'init-platform', '--domain', 'pryv.test', ...LOOPBACK])
    expect(r.code).toBe(7)
    expect(r.stderr).toContain('PRYV_DATA_DIR_NOT_WRITABLE')
  })

  it('a port in use', async () => {
    const server: Server = createServer()
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
    const port = (server.address() as { port: number }).port
    const dir = tempDir()
    const r = await runCli(['--data-dir', dir, 'init-platform', '--domain', 'pryv.test', '--listen', `127.0.0.1:${port}`, '--dns', 'none'])
    server.close()
    expect(r.code).toBe(7)
    expect(r.stderr).toContain('PRYV_PORT_IN_USE')
    expect(existsSync(`${dir}/node.json`)).toBe(false)
  })

  it('commands that need a running node say so', async () => {
    const r = await runCli(['--data-dir', tempDir(), 'status'])
    expect(r.code).toBe(6)
    expect(r.stderr).toContain('PRYV_NODE_NOT_RUNNING')
  })

  it('invite inspect shows everything but the secrets', async () => {
    const text = encodeInvite(invite)
    const r = await runCli(['invite', 'inspect', text, '--json'])
    expect(r.code).toBe(0)
    const shown = JSON.parse(r.stdout)
    expect(shown).toMatchObject({ platformId: invite.platformId, inviteId: invite.inviteId, role: 'full', expired: false })
    expect(r.stdout).not.toContain(invite.token)
  })

  it('usage errors exit 2 and --help exits 0 on every command', async () => {
    expect((await runCli(['init-platform'])).code).toBe(2)
    expect((await runCli(['invite', 'create', '--ttl', 'soon'])).code).toBe(2)
    const commands = [[], ['init-platform'], ['join-platform'], ['start'], ['dev'], ['status'], ['invite'], ['invite', 'create'], ['invite', 'list'], ['invite', 'revoke'], ['invite', 'inspect']]
    const results = await Promise.all(commands.map((cmd) => runCli([...cmd, '--help'])))
    results.forEach((r, i) => {
      expect(r.code, commands[i]!.join(' ')).toBe(0)
      expect(r.stdout).toContain('Usage: pryv-node')
    })
  })

  it('init-platform on an engine that is down, or a bundle that does not exist: exit 7 or 3, nothing created', async () => {
    const dir = tempDir()
    const down = await runCli(['--data-dir', dir, 'init-platform', '--domain', 'pryv.test', '--name', 'n1', ...LOOPBACK, '--services', 'docker', '--docker-socket', '/nonexistent/docker.sock'])
    expect(down.stderr).toContain('error PRYV_RUNTIME_ENGINE_DOWN:')
    expect(down.stderr).not.toMatch(/\n\s+at /)
    expect(down.code).toBe(7)
    expect(readdirSync(dir)).toEqual([])
    const missing = await runCli(['--data-dir', dir, 'init-platform', '--domain', 'pryv.test', '--name', 'n1', ...LOOPBACK, '--release', '/nonexistent/bundle'])
    expect(missing.stderr).toContain('error PRYV_RELEASE_NOT_FOUND:')
    expect(missing.code).toBe(3)
    expect(readdirSync(dir)).toEqual([])
  })

})
