import { readFileSync } from 'node:fs'
import { get } from 'node:http'
import { join } from 'node:path'
import * as tar from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeSession, newSession, sessionKey } from '../../src/admin/sessions.js'
import { DEMO_1_1 } from '../release/helpers.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { AdminClient } from './client.js'

// Loopback addresses of this area (admin), so that parallel tests of other areas do not collide.
const ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none', '--admin', '127.0.0.1:0']
const PASSWORD = 'correct horse battery staple'

async function cli(dataDir: string, args: string[]): Promise<any> {
  const r = await runCli(['--data-dir', dataDir, ...args])
  if (r.code !== 0) throw new Error(`${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout
}

// Generous: each test runs several CLI processes against 4 nodes on a shared 2-core machine.
describe('the admin API on a platform of 3 full members and an observer', { timeout: 120_000 }, () => {
  const nodes: NodeProcess[] = []
  const urls: string[] = []
  let owner: AdminClient

  beforeAll(async () => {
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...ARGS])
    nodes.push(founder)
    urls.push((await founder.ready()).admin as string)
    for (const [name, role] of [['core2', 'full'], ['core3', 'full'], ['obs1', 'observer']] as const) {
      const invite = (await cli(founder.dataDir, ['invite', 'create', '--role', role, '--json'])).invite
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', name, ...ARGS])
      nodes.push(node)
      urls.push((await node.ready()).admin as string)
    }
  }, 120_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('answers /healthz and /readyz on every node without authentication, revealing nothing', async () => {
    for (const url of urls) {
      const health = await fetch(`${url}/healthz`)
      expect([health.status, await health.text()]).toEqual([200, 'ok\n'])
      await expect.poll(async () => (await fetch(`${url}/readyz`)).status, { timeout: 15_000 }).toBe(200)
      expect(await (await fetch(`${url}/readyz`)).text()).toBe('ready\n')
    }
  })

  it('refuses every API call without a session (401) and answers a request for another host name with 421', async () => {
    const anon = new AdminClient(urls[0]!)
    const r = await anon.op('status')
    expect(r.status).toBe(401)
    expect(r.body.error.code).toBe('PRYV_ADMIN_UNAUTHENTICATED')
    // What a page on a rebound DNS name would send: refused (fetch cannot set Host, node:http can).
    const status = await new Promise<number>((resolve, reject) => {
      get(`${urls[0]}/healthz`, { headers: { host: 'evil.example.com' } }, (res) => {
        res.resume()
        resolve(res.statusCode ?? 0)
      }).on('error', reject)
    })
    expect(status).toBe(421)
  })

  it('logs the first owner in with a one-time link from the CLI on any node, which must then choose a password', async () => {
    const link = await cli(nodes[0]!.dataDir, ['admin', 'login-link', '--json'])
    expect(link.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/login\?link=/)
    const token = new URL(link.url).searchParams.get('link')
    owner = new AdminClient(urls[1]!)
    const first = await owner.request('POST', '/api/v1/login/link', { link: token })
    expect(first.status).toBe(200)
    expect(first.body).toMatchObject({ account: 'admin', role: 'owner', mustSetPassword: true })
    expect(first.headers.getSetCookie()[0]).toMatch(/HttpOnly/i)
    expect(first.headers.getSetCookie()[0]).toMatch(/SameSite=Strict/i)
    expect((await owner.op('status')).body.error.code).toBe('PRYV_ADMIN_PASSWORD_REQUIRED')
    expect((await owner.request('GET', '/api/v1/events')).body.error.code).toBe('PRYV_ADMIN_PASSWORD_REQUIRED')
    expect((await owner.request('POST', '/api/v1/password', { password: 'short' })).body.error.code).toBe('PRYV_ADMIN_WEAK_PASSWORD')
    expect((await owner.request('POST', '/api/v1/password', { password: PASSWORD })).status).toBe(200)
    expect((await owner.op('status')).body.result.members).toHaveLength(4)
    // Once only, on every node.
    const again = await new AdminClient(urls[2]!).request('POST', '/api/v1/login/link', { link: token })
    expect([again.status, again.body.error.code]).toEqual([401, 'PRYV_ADMIN_LINK_INVALID'])
  })

  it('answers a wrong password and an unknown account the same way, then rate-limits (429)', async () => {
    const client = new AdminClient(urls[3]!)
    const wrong = await client.login('admin', 'not the password at all')
    const unknown = await client.login('nobody', 'not the password at all')
    expect(wrong.status).toBe(401)
    expect(unknown.status).toBe(401)
    expect(unknown.body).toEqual(wrong.body)
    let last = wrong
    for (let i = 0; i < 5; i++) last = await client.login('admin', 'not the password at all')
    expect(last.status).toBe(429)
    expect(last.body.error.code).toBe('PRYV_ADMIN_RATE_LIMITED')
    expect(Number(last.headers.get('retry-after'))).toBeGreaterThan(0)
    // Even the right password is refused while the account is limited on this node.
    expect((await client.login('admin', PASSWORD)).status).toBe(429)
  })

  it('checks roles on the server for every operation, and serves nothing that has no permission', async () => {
    expect((await owner.op('admin.users.add', { name: 'vera', role: 'viewer', password: PASSWORD })).status).toBe(200)
    expect((await owner.op('admin.users.add', { name: 'otto', role: 'operator', password: PASSWORD })).status).toBe(200)
    const viewer = new AdminClient(urls[0]!)
    expect((await viewer.login('vera', PASSWORD)).status).toBe(200)
    expect((await viewer.op('status')).status).toBe(200)
    const denied = await viewer.op('settings.change', { target: { kind: 'platform' }, set: { 'platform.name': 'x' } })
    expect([denied.status, denied.body.error.code]).toEqual([403, 'PRYV_ADMIN_FORBIDDEN'])
    expect((await viewer.op('admin.users.list')).status).toBe(403)
    const operator = new AdminClient(urls[2]!)
    expect((await operator.login('otto', PASSWORD)).status).toBe(200)
    expect((await operator.op('settings.get', {})).status).toBe(200)
    expect((await operator.op('settings.get', { reveal: true })).status).toBe(403)
    expect((await owner.op('settings.get', { reveal: true })).status).toBe(200)
    const leave = await owner.op('leave')
    expect([leave.status, leave.body.error.code]).toEqual([404, 'PRYV_ADMIN_UNKNOWN_OPERATION'])
    const doc = await owner.request('GET', '/api/v1/openapi.json')
    expect(doc.body.paths['/api/v1/ops/settings.change'].post['x-pryv-role']).toBe('operator')
    expect(doc.body.paths['/api/v1/ops/leave']).toBeUndefined()
  })

  it('masks secrets for everyone but an owner who asks to reveal them', async () => {
    const viewer = new AdminClient(urls[0]!)
    await viewer.login('vera', PASSWORD)
    const masked = JSON.stringify((await viewer.op('settings.get', {})).body)
    const revealed = (await owner.op('settings.get', { reveal: true })).body.result
    const secret = Object.entries(revealed.values ?? revealed).find(([k]) => /secret/i.test(k))?.[1]
    expect(typeof secret).toBe('string')
    expect(masked).not.toContain(secret as string)
  })

  it('gives the CLI\'s validation and errors, writes through any node (an observer too) and records the author', async () => {
    const operator = new AdminClient(urls[3]!) // the observer
    await operator.login('otto', PASSWORD)
    const bad = await operator.op('settings.change', { target: { kind: 'platform' }, set: { 'platform.nmae': 'x' } })
    const cliBad = await runCli(['--data-dir', nodes[0]!.dataDir, 'config', 'set', 'platform.nmae=x', '--json'])
    expect(bad.status).toBe(400)
    expect(bad.body.error.code).toBe(JSON.parse(cliBad.stdout).error.code)
    const ok = await operator.op('settings.change', { target: { kind: 'platform' }, set: { 'platform.name': 'Renamed by otto' }, message: 'rename' })
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    const audit = await cli(nodes[1]!.dataDir, ['admin', 'audit', '--json'])
    expect(audit.at(-1)).toMatchObject({ kind: 'settings.change', actor: 'admin:otto', node: 'obs1' })
    const history = await cli(nodes[2]!.dataDir, ['config', 'history', '--json'])
    expect(history.records.at(-1)).toMatchObject({ author: 'obs1', actor: 'admin:otto', message: 'rename' })
    expect(await cli(nodes[2]!.dataDir, ['config', 'history'])).toContain('admin:otto@obs1')
  })

  it('refuses a state change with a missing or wrong CSRF token (403), but not with an API token', async () => {
    const operator = new AdminClient(urls[0]!)
    await operator.login('otto', PASSWORD)
    const csrf = operator.csrf
    operator.csrf = undefined
    expect((await operator.op('invite.list')).body.error.code).toBe('PRYV_ADMIN_CSRF')
    operator.csrf = `${csrf}x`
    expect((await operator.op('invite.list')).status).toBe(403)
    const created = await cli(nodes[0]!.dataDir, ['admin', 'tokens', 'create', '--role', 'viewer', '--json'])
    const bot = new AdminClient(urls[1]!)
    // Made on core1, used on core2 once it has applied the token's entry.
    await expect.poll(async () => (await bot.op('status', {}, { authorization: `Bearer ${created.token}` })).status, { timeout: 10_000 }).toBe(200)
    expect((await bot.op('invite.create', {}, { authorization: `Bearer ${created.token}` })).status).toBe(403)
  })

  it('refuses the DNS, releases and settings pages\' changes to a role that lacks them, and without the CSRF token', async () => {
    /** A form post from the app's pages, with the session's cookie and (unless told) its CSRF token. */
    const post = async (client: AdminClient, path: string, fields: Record<string, string>, csrf = client.csrf) => {
      const res = await fetch(`${client.base}${path}`, { method: 'POST', redirect: 'manual', headers: { cookie: client.cookie!, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, ...(csrf ? { _csrf: csrf } : {}) }) })
      return { status: res.status, text: await res.text() }
    }
    const viewer = new AdminClient(urls[1]!)
    await viewer.login('vera', PASSWORD)
    const operator = new AdminClient(urls[2]!)
    await operator.login('otto', PASSWORD)

    const page = await fetch(`${urls[1]}/dns`, { headers: { cookie: viewer.cookie! } })
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).not.toContain('Set user')
    const setByViewer = await post(viewer, '/dns', { action: 'set', user: 'eve-demo', core: 'core1' })
    expect([setByViewer.status, setByViewer.text]).toEqual([403, expect.stringContaining('PRYV_ADMIN_FORBIDDEN')])
    const noCsrf = await post(operator, '/dns', { action: 'set', user: 'eve-demo', core: 'core1' }, '')
    expect([noCsrf.status, JSON.parse(noCsrf.text).error.code]).toEqual([403, 'PRYV_ADMIN_CSRF'])
    expect((await cli(nodes[0]!.dataDir, ['dns', 'users', 'get', '--json'])).users).toEqual({})
    const rollbackByOperator = await post(operator, '/releases', { action: 'rollback' })
    expect([rollbackByOperator.status, rollbackByOperator.text]).toEqual([403, expect.stringContaining('PRYV_ADMIN_FORBIDDEN')])
    const settingsByViewer = await post(viewer, '/settings', { action: 'rollback', revision: '1' })
    expect([settingsByViewer.status, settingsByViewer.text]).toEqual([403, expect.stringContaining('PRYV_ADMIN_FORBIDDEN')])
    // Allowed to an operator, refused by the state machine as from the CLI: 400, nothing written.
    const unknownCore = await post(operator, '/dns', { action: 'set', user: 'eve-demo', core: 'core9' })
    expect([unknownCore.status, unknownCore.text]).toEqual([400, expect.stringContaining('PRYV_DNS_UNKNOWN_CORE')])
    const badRevision = await fetch(`${urls[2]}/settings?from=abc`, { headers: { cookie: operator.cookie! } })
    expect([badRevision.status, await badRevision.text()]).toEqual([400, expect.stringContaining('PRYV_USAGE')])
    // Without a session, the pages send to the login page.
    for (const path of ['/dns', '/releases']) {
      const anonymous = await fetch(`${urls[0]}${path}`, { redirect: 'manual' })
      expect([anonymous.status, anonymous.headers.get('location')]).toEqual([303, '/login'])
    }
  })

  it('signs sessions on a joined node with the platform key, so no one forges one with the empty key', async () => {
    // A node that joined gets the platform key from its join; its config's is empty until it restarts.
    const forger = sessionKey('')
    for (const url of urls.slice(1)) {
      for (let epoch = 0; epoch < 5; epoch++) {
        const cookie = `pryv_admin=${encodeSession(forger, newSession('admin', epoch, Date.now()))}`
        expect((await fetch(`${url}/api/v1/session`, { headers: { cookie } })).status, `${url} epoch ${epoch}`).toBe(401)
      }
    }
    // The owner's session, made on core2 (a joined node), is accepted on every node.
    for (const url of urls) expect((await owner.on(url).request('GET', '/api/v1/session')).status).toBe(200)
  })

  it('refuses an expired or revoked API token on every node', async () => {
    const short = await cli(nodes[0]!.dataDir, ['admin', 'tokens', 'create', '--role', 'operator', '--ttl', '2s', '--json'])
    const long = await cli(nodes[0]!.dataDir, ['admin', 'tokens', 'create', '--role', 'operator', '--json'])
    const bot = new AdminClient(urls[3]!)
    const as = (t: string) => ({ authorization: `Bearer ${t}` })
    await expect.poll(async () => (await bot.op('status', {}, as(long.token))).status, { timeout: 10_000 }).toBe(200)
    await expect.poll(async () => (await bot.op('status', {}, as(short.token))).status, { timeout: 10_000 }).toBe(401)
    await cli(nodes[2]!.dataDir, ['admin', 'tokens', 'revoke', long.id])
    for (const url of urls) await expect.poll(async () => (await bot.on(url).op('status', {}, as(long.token))).status, { timeout: 10_000 }).toBe(401)
    expect((await bot.op('status', {}, as('pryv_forged00001.AAAAAAAAAAAAAAAAAAAAAAAAAAAA'))).status).toBe(401)
  })

  it('ends every session of an account on every node at logout, and at a password change', async () => {
    const viewer = new AdminClient(urls[0]!)
    await viewer.login('vera', PASSWORD)
    const copies = urls.map((u) => viewer.on(u))
    for (const c of copies) expect((await c.op('status')).status).toBe(200)
    expect((await viewer.request('POST', '/api/v1/logout')).status).toBe(200)
    for (const c of copies) await expect.poll(async () => (await c.op('status')).status, { timeout: 10_000 }).toBe(401)

    await viewer.login('vera', PASSWORD)
    const again = urls.map((u) => viewer.on(u))
    await cli(nodes[1]!.dataDir, ['admin', 'users', 'passwd', 'vera'])
    for (const c of again) await expect.poll(async () => (await c.op('status')).status, { timeout: 10_000 }).toBe(401)
  })

  it('shows user-written values as text in the app, with a strict CSP and security headers', async () => {
    const payload = `<script>alert(1)</script>"'><img src=x onerror=alert(2)>`
    await cli(nodes[0]!.dataDir, ['config', 'set', `platform.name=${payload}`, '-m', payload])
    const page = await fetch(`${urls[2]}/audit`, { headers: { cookie: owner.on(urls[2]!).cookie! } })
    const html = await page.text()
    expect(page.status).toBe(200)
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(html).not.toContain('<script>alert(1)')
    expect(html).not.toContain('<img src=x')
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(page.headers.get('x-frame-options')).toBe('DENY')
    const login = await fetch(`${urls[2]}/login?link=${encodeURIComponent(payload)}`)
    const loginHtml = await login.text()
    expect(loginHtml).not.toContain('<script>alert(1)')
    expect(loginHtml).toContain('&lt;script&gt;')
  })

  it('takes a release bundle uploaded as a .tgz: dry-runs it, applies it through the writer set, and refuses what it must', async () => {
    const bundle = join(tempDir(), 'demo-1.1.0.tgz')
    await tar.c({ gzip: true, file: bundle, cwd: DEMO_1_1 }, ['.'])
    const upload = async (client: AdminClient, body: Uint8Array, query = '') => {
      const res = await fetch(`${client.base}/api/v1/releases/upload${query}`, { method: 'POST', headers: { cookie: client.cookie!, 'x-csrf-token': client.csrf!, 'content-type': 'application/gzip' }, body: body as unknown as BodyInit })
      const text = await res.text()
      const events = text.split('\n\n').filter((e) => e.startsWith('event: ')).map((e) => ({ event: e.split('\n')[0]!.slice(7), data: JSON.parse(e.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) }))
      return { status: res.status, text, events }
    }
    const bytes = readFileSync(bundle)
    expect((await owner.request('GET', '/api/v1/openapi.json')).body.paths['/api/v1/releases/upload'].post['x-pryv-role']).toBe('owner')
    const dry = await upload(owner, bytes, '?dryRun=true')
    expect(dry.status, dry.text).toBe(200)
    expect(dry.events.at(-1)!.event).toBe('end')
    expect(dry.events.find((e) => e.data.event === 'result')!.data).toMatchObject({ dryRun: true, from: { version: '1.0.0' }, to: { version: '1.1.0' } })
    expect((await cli(nodes[0]!.dataDir, ['release', 'status', '--json'])).current.version).toBe('1.0.0')

    const operator = new AdminClient(urls[0]!)
    await operator.login('otto', PASSWORD)
    const denied = await upload(operator, bytes)
    expect([denied.status, JSON.parse(denied.text).error.code]).toEqual([403, 'PRYV_ADMIN_FORBIDDEN'])
    const noCsrf = await fetch(`${urls[1]}/api/v1/releases/upload`, { method: 'POST', headers: { cookie: owner.cookie! }, body: bytes as unknown as BodyInit })
    expect(noCsrf.status).toBe(403)
    const tooLarge = await upload(owner, new Uint8Array(64 * 1024 * 1024 + 1))
    expect([tooLarge.status, JSON.parse(tooLarge.text).error.code]).toEqual([413, 'PRYV_ADMIN_REQUEST_TOO_LARGE'])
    // Not an archive: the release code's own error, as from `release apply`.
    const garbage = await upload(owner, Buffer.from('not a tarball'))
    expect(garbage.events.at(-1)).toMatchObject({ event: 'error', data: { code: expect.stringMatching(/^PRYV_RELEASE_/) } })

    const applied = await upload(owner, bytes, '?message=uploaded')
    expect(applied.events.find((e) => e.data.event === 'result')!.data).toMatchObject({ to: { version: '1.1.0' }, revision: expect.any(Number) })
    for (const node of nodes) {
      await expect.poll(async () => (await cli(node.dataDir, ['release', 'status', '--json'])).current, { timeout: 15_000 }).toMatchObject({ version: '1.1.0', message: 'uploaded' })
    }
    expect((await cli(nodes[2]!.dataDir, ['admin', 'audit', '--json'])).findLast((r: { kind: string }) => r.kind === 'release.apply')).toMatchObject({ actor: 'admin:admin', node: 'core2' })
  })
})
