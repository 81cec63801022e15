import { describe, expect, it } from 'vitest'
import { registryApp } from '../../src/registry/api.js'
import type { RegistrySettings } from '../../src/registry/settings.js'
import { parseCommand, type StampedCommand } from '../../src/state/commands.js'
import { applyCommand } from '../../src/state/machine.js'
import { emptyState, type PlatformState } from '../../src/state/types.js'

const SYSTEM = 'system-key-0123456789'
const ADMIN = 'admin0key0123456789ab'

/** The API over a real state machine, every write applied at once (one node, no network). */
function setup(overrides: Partial<RegistrySettings> = {}) {
  const state: PlatformState = emptyState()
  const member = (peerId: string, name: string) => ({ peerId, name, role: 'full' as const, addresses: [] })
  applyCommand(state, { kind: 'platform.create', id: 'p', domain: 'pryv.test', founder: member('A', 'core1'), at: 0, author: 'A' })
  applyCommand(state, { kind: 'invite.create', id: 'i', tokenHash: 'h', role: 'full', expiresAt: 1e15, uses: 2, at: 0, author: 'A' })
  applyCommand(state, { kind: 'member.join', inviteId: 'i', member: member('B', 'core2'), at: 0, author: 'A' })
  applyCommand(state, { kind: 'member.join', inviteId: 'i', member: member('C', 'core3'), at: 0, author: 'A' })
  const settings: RegistrySettings = {
    domain: 'pryv.test',
    systemKey: SYSTEM,
    adminKey: ADMIN,
    hostings: { eu: { name: 'Europe' }, us: { name: 'America' }, empty: { name: 'None yet' } },
    coreHosting: new Map([['core1', 'eu'], ['core2', 'eu'], ['core3', 'us']]),
    invitationTokens: null,
    defaultAuthUrl: 'https://sw.pryv.test/access/access.html',
    trustedAuthUrls: [],
    disableGetUsernameByEmail: false,
    serviceInfo: { api: 'https://{username}.pryv.test/', access: 'https://access.pryv.test/access/', register: 'https://reg.pryv.test/' },
    ...overrides
  }
  let n = 0
  const app = registryApp({
    state: () => state,
    settings: () => settings,
    submit: async (command) => applyCommand(state, parseCommand({ ...command, at: Date.now(), author: 'A' }) as StampedCommand).result,
    consistent: async () => {},
    randomKey: (length) => `K${String(n++).padStart(length - 1, '0')}`,
    onInternalError: (err) => { throw err }
  })
  const request = (path: string, init: RequestInit) => app.request(path, init)
  const call = async (method: string, path: string, body?: unknown, key = SYSTEM) => {
    const res = await app.request(path, { method, headers: { authorization: key }, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text }
  }
  const create = (username: string, extra: Record<string, unknown> = {}, host?: string) =>
    call('POST', '/users', { user: { username, email: `${username}@x.com`, ...extra }, ...(host ? { host: { name: host } } : {}), unique: ['username', 'email'] })
  return { state, call, create, request }
}

describe('the register API over the state machine', () => {
  it('places a user without a host on the least-loaded core of its hosting, and /hostings says which core is next', async () => {
    const { call, create, state } = setup()
    await create('first-user', {}, 'core1')
    expect((await create('second-user', { hosting: 'eu' })).status).toBe(201)
    expect(state.dnsUsers.get('second-user')).toBe('core2')
    expect((await create('third-user', { hosting: 'us' })).status).toBe(201)
    expect(state.dnsUsers.get('third-user')).toBe('core3')
    expect((await create('fourth-user', { hosting: 'empty' })).body).toMatchObject({ id: 'UNAVAILABLE_HOSTING' })
    const hostings = (await call('GET', '/hostings')).body.regions.default.zones.default.hostings
    expect(hostings).toEqual({
      eu: { name: 'Europe', available: true, availableCore: 'https://core1.pryv.test/' },
      us: { name: 'America', available: true, availableCore: 'https://core3.pryv.test/' },
      empty: { name: 'None yet', available: false, availableCore: '' }
    })
  })

  it('with invitation tokens required: refuses a bad token, accepts a listed one again and again, a generated one once', async () => {
    const { call, create } = setup({ invitationTokens: ['listed'] })
    expect((await create('no-token1')).body).toMatchObject({ id: 'INVALID_INVITATION' })
    expect((await create('listed-01', { invitationToken: 'listed' })).status).toBe(201)
    expect((await create('listed-02', { invitationToken: 'listed' })).status).toBe(201)
    const generated = await call('GET', '/admin/invitations/post?count=1&message=beta', undefined, ADMIN)
    const token = generated.body.data[0].id as string
    expect((await call('POST', '/access/invitationtoken/check', { invitationtoken: token })).body).toBe('true')
    expect((await create('invited-1', { invitationToken: token })).status).toBe(201)
    expect((await create('invited-2', { invitationToken: token })).body).toMatchObject({ id: 'INVALID_INVITATION' })
    expect((await call('POST', '/access/invitationtoken/check', { invitationtoken: token })).body).toBe('false')
    const validate = await call('POST', '/users/validate', { username: 'invited-3', core: 'core1', invitationToken: token, uniqueFields: {} })
    expect(validate).toEqual({ status: 400, body: { reservation: false, error: { id: 'invitationToken-invalid', data: {} } } })
  })

  it('moves the users of a core with the rename route and keeps the admin counts right', async () => {
    const { call, create, state } = setup()
    await create('user-one1', {}, 'core1')
    await create('user-two2', {}, 'core1')
    expect((await call('GET', '/admin/servers/core1.pryv.test/rename/core3', undefined)).body).toEqual({ count: 2 })
    expect(state.dnsUsers.get('user-one1')).toBe('core3')
    expect((await call('GET', '/admin/servers', undefined, ADMIN)).body).toEqual({ servers: { 'core3.pryv.test': 2 } })
    expect((await call('GET', '/admin/servers/core3/users', undefined, ADMIN)).body).toEqual({ users: ['user-one1', 'user-two2'] })
    expect((await call('GET', '/admin/servers/core1/rename/nowhere', undefined)).body).toMatchObject({ id: 'INVALID_DATA' })
  })

  it('hides the e-mail → username route when the platform disables it', async () => {
    const { call, create } = setup({ disableGetUsernameByEmail: true })
    await create('alice-001')
    expect(await call('GET', '/alice-001@x.com/username')).toMatchObject({ status: 405, body: { id: 'DISABLED_METHOD' } })
  })

  it('answers browsers from any origin as v1 does (preflight and CORS headers), and takes form posts', async () => {
    const { request } = setup()
    const preflight = await request('/access', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } })
    expect(preflight.status).toBe(200)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type')
    const form = await request('/username/check', { method: 'POST', headers: { origin: 'https://app.example', 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=free-name' })
    expect(await form.text()).toBe('true')
    expect(form.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(form.headers.get('access-control-allow-credentials')).toBe('true')
  })
})
