import { Resolver } from 'node:dns/promises'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

/**
 * The register API's compatibility suite on a 3-node platform (issue 16): every request goes to the
 * next node in turn, as `reg.<domain>` spreads clients over the nodes.
 */
const IPS = ['127.0.16.1', '127.0.16.2', '127.0.16.3']
const DOMAIN = 'pryv.test'

describe('the user registry on a 3-node platform', () => {
  const nodes: NodeProcess[] = []
  const register: string[] = []
  const dns: string[] = []
  let systemKey = ''
  let adminKey = ''
  let turn = 0

  /** Sends a request to node `i`, or to the next node in turn. */
  const call = async (method: string, path: string, opts: { body?: unknown, raw?: string, key?: string, node?: number } = {}) => {
    const i = opts.node ?? turn++ % 3
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (opts.key) headers.authorization = opts.key
    const res = await fetch(`http://${register[i]}${path}`, { method, headers, redirect: 'manual', body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)) })
    const text = await res.text()
    let json: unknown = text
    try {
      json = JSON.parse(text)
    } catch {}
    return { status: res.status, body: json as Record<string, any>, headers: res.headers }
  }

  const createUser = (username: string, email: string, node?: number, host = 'core2') =>
    call('POST', '/users', { key: systemKey, node, body: { user: { username, email, language: 'en', appId: 'pryv-test' }, host: { name: host }, unique: ['username', 'email'] } })

  const cname = async (i: number, name: string): Promise<string[]> => {
    const r = new Resolver({ timeout: 2000, tries: 1 })
    r.setServers([dns[i]!])
    return r.resolveCname(`${name}.${DOMAIN}`).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENODATA' || err.code === 'ENOTFOUND') return []
      throw err
    })
  }

  beforeAll(async () => {
    const args = (i: number): string[] => ['--listen', `${IPS[i]}:0`, '--dns', `${IPS[i]}:0`, '--register', `${IPS[i]}:0`]
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', DOMAIN, '--name', 'core1', '--release', 'releases/pryv-io', ...args(0)])
    nodes.push(founder)
    const ready = await founder.ready()
    register.push(ready.register as string)
    dns.push((ready.dns as string[])[0]!)
    for (const i of [1, 2]) {
      const { invite } = await callControl(`${founder.dataDir}/control.sock`, 'invite.create', { role: 'full' }) as { invite: string }
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', `core${i + 1}`, ...args(i)])
      nodes.push(node)
      const r = await node.ready()
      register.push(r.register as string)
      dns.push((r.dns as string[])[0]!)
    }
    const settings = await callControl(`${founder.dataDir}/control.sock`, 'settings.get', { reveal: true }) as { values: Record<string, string> }
    systemKey = settings.values['internals.registerSystemKey']!
    adminKey = settings.values['internals.registerAdminKey']!
    expect(systemKey).toBeTruthy()
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('creates a user through node 1 and finds it through nodes 2 and 3, over HTTP and DNS', async () => {
    const created = await createUser('alice-01', 'Alice@Example.com', 0)
    expect(created).toMatchObject({ status: 201, body: { username: 'alice-01', server: `alice-01.${DOMAIN}`, apiEndpoint: `https://alice-01.${DOMAIN}/` } })
    // Uniqueness checks are consistent wherever they land.
    expect((await call('GET', '/alice-01/check_username', { node: 1 })).body).toEqual({ reserved: true })
    expect((await call('POST', '/email/check', { node: 2, body: { email: 'alice@example.com' } })).body).toBe(false)
    for (const i of [1, 2]) {
      await expect.poll(async () => (await call('GET', '/cores?username=alice-01', { node: i })).body, { timeout: 10_000 }).toEqual({ core: { url: `https://core2.${DOMAIN}/` } })
      expect((await call('POST', '/alice-01/server', { node: i })).body).toEqual({ server: `core2.${DOMAIN}`, alias: `alice-01.${DOMAIN}` })
      const redirect = await call('GET', '/alice-01/server', { node: i })
      expect(redirect.status).toBe(302)
      expect(redirect.headers.get('location')).toBe(`https://core2.${DOMAIN}/?username=alice-01`)
      expect((await call('GET', '/alice@example.com/username', { node: i })).body).toEqual({ username: 'alice-01' })
    }
    for (const i of [0, 1, 2]) await expect.poll(() => cname(i, 'alice-01'), { timeout: 10_000 }).toEqual([`core2.${DOMAIN}`])
    const shown = await runCli(['--data-dir', nodes[2]!.dataDir, 'dns', 'users', 'get', 'alice-01', '--json'])
    expect(JSON.parse(shown.stdout)).toEqual({ users: { 'alice-01': 'core2' }, unknown: [] })
    const listed = await runCli(['--data-dir', nodes[1]!.dataDir, 'registry', 'users', 'alice-01', '--consistent', '--json'])
    expect(JSON.parse(listed.stdout).users).toEqual([expect.objectContaining({ username: 'alice-01', core: 'core2', fields: { email: 'alice@example.com', language: 'en', appid: 'pryv-test' } })])
    const admin = await call('GET', `/admin/servers?auth=${adminKey}`)
    expect(admin.body.servers[`core2.${DOMAIN}`]).toBeGreaterThanOrEqual(1)
  })

  it('lets exactly one of two simultaneous creations of a username, or of an e-mail, win on two nodes', async () => {
    for (let round = 0; round < 3; round++) {
      const sameName = await Promise.all([createUser(`race-${round}-user`, `r${round}a@x.com`, 0), createUser(`race-${round}-user`, `r${round}b@x.com`, 1)])
      expect(sameName.map((r) => r.status).sort()).toEqual([201, 400])
      expect(sameName.find((r) => r.status === 400)!.body).toMatchObject({ id: 'EXISTING_USER_NAME' })
      const sameEmail = await Promise.all([createUser(`mail-${round}-one`, `shared${round}@x.com`, 1), createUser(`mail-${round}-two`, `SHARED${round}@x.com`, 2)])
      expect(sameEmail.map((r) => r.status).sort()).toEqual([201, 400])
      expect(sameEmail.find((r) => r.status === 400)!.body).toMatchObject({ id: 'EXISTING_EMAIL' })
      // Reservations made by two cores through /users/validate: one gets it, the other v1's conflict.
      const validate = (core: string, node: number) => call('POST', '/users/validate', { key: systemKey, node, body: { username: `resv-${round}-user`, core, invitationToken: 'x', uniqueFields: { email: `v${round}@x.com` } } })
      const reservations = await Promise.all([validate('core1', 2), validate('core3', 0)])
      expect(reservations.map((r) => r.body.reservation).sort()).toEqual([false, true])
      expect(reservations.find((r) => r.status === 400)!.body).toEqual({ reservation: false, error: { id: 'item-already-exists', data: { username: `resv-${round}-user`, email: `v${round}@x.com` } } })
    }
  })

  it('runs the access flow started on one node, answered on a second, polled on a third', async () => {
    const started = await call('POST', '/access', { node: 0, body: { requestingAppId: 'test-app', requestedPermissions: [{ streamId: 'diary', level: 'read' }], languageCode: 'fr' } })
    expect(started).toMatchObject({ status: 201, body: { status: 'NEED_SIGNIN', code: 201, poll_rate_ms: 1000, lang: 'fr' } })
    const key = started.body.key as string
    expect(started.body.poll).toBe(`https://access.${DOMAIN}/access/${key}`)
    expect((await call('GET', `/access/${key}`, { node: 2 })).status).toBe(201)
    const accepted = await call('POST', `/access/${key}`, { node: 1, body: { status: 'ACCEPTED', username: 'alice-01', token: 'tok123' } })
    expect(accepted).toMatchObject({ status: 200, body: { status: 'ACCEPTED', username: 'alice-01', apiEndpoint: `https://tok123@alice-01.${DOMAIN}/` } })
    const polled = await call('GET', `/access/${key}`, { node: 2 })
    expect(polled).toMatchObject({ status: 200, body: { status: 'ACCEPTED', token: 'tok123' } })
    // Once accepted, the request's outcome cannot change any more (v1 let it).
    expect((await call('POST', `/access/${key}`, { node: 0, body: { status: 'REFUSED' } })).status).toBe(400)
    expect((await call('GET', `/access/${key}`, { node: 1 })).body.status).toBe('ACCEPTED')
    expect((await call('GET', '/access/NoSuchKey0123', { node: 1 })).body).toMatchObject({ id: 'INVALID_KEY' })
  })

  it('removes a deleted user from the API and from DNS on every node', async () => {
    // Cores name themselves by the Host of the request they served.
    await createUser('bob-0001', 'bob@x.com', 1, `core3.${DOMAIN}/`)
    for (const i of [0, 1, 2]) await expect.poll(() => cname(i, 'bob-0001'), { timeout: 10_000 }).toEqual([`core3.${DOMAIN}`])
    expect((await call('DELETE', '/users/bob-0001?onlyReg=true&dryRun=true', { key: systemKey, node: 0 })).body).toEqual({ result: { dryRun: true, deleted: false } })
    expect((await call('DELETE', '/users/bob-0001', { key: systemKey, node: 0 })).status).toBe(421)
    expect((await call('DELETE', '/users/bob-0001?onlyReg=true', { key: systemKey, node: 2 })).body).toEqual({ result: { dryRun: false, deleted: true } })
    for (const i of [0, 1, 2]) {
      await expect.poll(async () => (await call('GET', '/cores?username=bob-0001', { node: i })).status, { timeout: 10_000 }).toBe(404)
      await expect.poll(() => cname(i, 'bob-0001'), { timeout: 10_000 }).toEqual([])
    }
    expect((await call('GET', '/bob-0001/check_username')).body).toEqual({ reserved: false })
    expect((await call('DELETE', '/users/bob-0001?onlyReg=true', { key: systemKey })).body).toMatchObject({ id: 'NO_SUCH_USER' })
  })

  it('answers bad input with v1\'s status and error id, and writes nothing', async () => {
    const before = (await call('GET', `/admin/users?auth=${adminKey}`)).body.users.length as number
    const user = (username: unknown, extra: Record<string, unknown> = {}) => ({ user: { username, email: `${String(username)}@bad.com` }, host: { name: 'core1' }, unique: ['email'], ...extra })
    const cases: Array<[string, string, { body?: unknown, raw?: string, key?: string }, number, Record<string, unknown>]> = [
      ['POST', '/users', { body: user('abcd'), key: systemKey }, 400, { id: 'INVALID_USER_NAME' }],
      ['POST', '/users', { body: user('-abcde'), key: systemKey }, 400, { id: 'INVALID_USER_NAME' }],
      ['POST', '/users', { body: user('a'.repeat(61)), key: systemKey }, 400, { id: 'INVALID_USER_NAME' }],
      ['POST', '/users', { body: user('access'), key: systemKey }, 400, { id: 'RESERVED_USER_NAME' }],
      ['POST', '/users', { body: user('pryvtest'), key: systemKey }, 400, { id: 'RESERVED_USER_NAME' }],
      ['POST', '/users', { body: user('core2'.padEnd(5, 'x')), key: systemKey }, 400, { id: 'RESERVED_USER_NAME' }],
      ['POST', '/users', { body: user('valid-name', { host: { name: 'core9' } }), key: systemKey }, 400, { id: 'UNAVAILABLE_HOSTING' }],
      ['POST', '/users', { body: { host: { name: 'core1' } }, key: systemKey }, 400, { id: 'INVALID_DATA' }],
      ['POST', '/users', { raw: '{"user": ', key: systemKey }, 400, { error: { id: 'invalid-parameters-format' } }],
      ['POST', '/users', { body: user('valid-name') }, 401, { id: 'unauthorized' }],
      ['POST', '/users', { body: user('valid-name'), key: 'wrong-key' }, 401, { id: 'unauthorized' }],
      ['POST', '/users', { body: user('valid-name'), key: adminKey }, 403, { id: 'forbidden' }],
      ['POST', '/users/validate', { body: { username: 'ab', core: 'core1', uniqueFields: {} }, key: systemKey }, 400, { id: 'INVALID_USER_NAME' }],
      ['GET', '/admin/servers', { key: systemKey }, 403, { id: 'forbidden' }],
      ['GET', '/ab/check_username', {}, 400, { id: 'INVALID_USER_NAME' }],
      ['GET', '/register/check_username', {}, 200, { reserved: true, reason: 'RESERVED_USER_NAME' }],
      ['GET', '/cores', {}, 400, { id: 'INVALID_PARAMETERS' }],
      ['GET', '/cores?username=nobody-here', {}, 404, { id: 'UNKNOWN_USER_NAME' }],
      ['GET', '/nobody@x.com/username', {}, 404, { id: 'UNKNOWN_EMAIL' }],
      ['POST', '/access', { body: { requestingAppId: 'abc', requestedPermissions: [] } }, 400, { id: 'INVALID_APP_ID' }],
      ['POST', '/access', { body: { requestingAppId: 'test-app' } }, 400, { id: 'INVALID_DATA' }],
      ['POST', '/access', { body: { requestingAppId: 'test-app', requestedPermissions: [], authUrl: 'https://evil.example/auth' } }, 400, { id: 'UNTRUSTED_AUTH_URL' }],
      ['PUT', '/users', { body: { username: 'nobody-here', user: { language: 'de' } }, key: systemKey }, 404, { id: 'UNKNOWN_USER_NAME' }]
    ]
    for (const [method, path, opts, status, body] of cases) {
      const r = await call(method, path, opts)
      expect({ method, path, status: r.status, body: r.body }).toMatchObject({ method, path, status, body })
    }
    expect((await call('POST', '/username/check', { body: { username: 'access' } })).body).toBe(false)
    expect((await call('GET', `/admin/users?auth=${adminKey}`, { node: 0 })).body.users).toHaveLength(before)
  })

  it('updates a user\'s fields through PUT /users, refusing an e-mail another user holds', async () => {
    await createUser('carol-001', 'carol@x.com', 2)
    const update = (email: string) => call('PUT', '/users', { key: systemKey, body: { username: 'carol-001', user: { email: [{ value: email, isUnique: true, isActive: true, creation: false }] }, fieldsToDelete: {} } })
    expect(await update('alice@example.com')).toMatchObject({ status: 400, body: { user: false, error: { id: 'item-already-exists', data: { email: 'alice@example.com' } } } })
    expect(await update('carol2@x.com')).toMatchObject({ status: 200, body: { user: true } })
    expect((await call('GET', '/carol2@x.com/check_email')).body).toEqual({ exists: true })
    expect((await call('GET', '/carol@x.com/check_email')).body).toEqual({ exists: false })
  })

  it('imports a v1 Redis dump of a few thousand users once: DNS answers them on every node, a second import changes nothing', async () => {
    const lines = ['SELECT 0', 'SET dbversion 0.1.1']
    const count = 3000
    for (let n = 0; n < count; n++) {
      const u = `v1user-${String(n).padStart(5, '0')}`
      lines.push(`SET ${u}:server ${n % 2 === 0 ? 'co1' : 'co2'}.${DOMAIN}`)
      lines.push(`HSET ${u}:users email "${u}@v1.example" language en registeredTimestamp ${1_600_000_000_000 + n}`)
      lines.push(`SET ${u}@v1.example:email ${u}`)
    }
    const file = join(tempDir(), 'dump.txt')
    writeFileSync(file, `${lines.join('\n')}\n`)
    const importArgs = ['--data-dir', nodes[1]!.dataDir, 'registry', 'import', file, '--core', `co1.${DOMAIN}=core1`, '--core', `co2.${DOMAIN}=core3`, '--json']
    const first = await runCli(importArgs, { timeoutMs: 120_000 })
    expect(first.stderr).toBe('')
    expect(JSON.parse(first.stdout)).toMatchObject({ read: count, imported: count, unchanged: 0, refused: [] })
    for (const i of [0, 1, 2]) {
      await expect.poll(() => cname(i, `v1user-0${count - 1}`), { timeout: 15_000 }).toEqual([`core3.${DOMAIN}`])
      expect(await cname(i, 'v1user-00000')).toEqual([`core1.${DOMAIN}`])
      expect(await cname(i, 'v1user-01501')).toEqual([`core3.${DOMAIN}`])
    }
    expect((await call('GET', `/cores?email=v1user-00042@v1.example`)).body).toEqual({ core: { url: `https://core1.${DOMAIN}/` } })
    const second = await runCli(importArgs, { timeoutMs: 120_000 })
    expect(JSON.parse(second.stdout)).toMatchObject({ read: count, imported: 0, unchanged: count, refused: [] })
    expect(second.code).toBe(0)
  })
})
