import { createHash, timingSafeEqual } from 'node:crypto'
import { type Context, Hono } from 'hono'
import { isOperatorError } from '../errors.js'
import type { ApplyResult } from '../state/machine.js'
import { ACCESS_TTL_MS, type FieldValue, type RegistryCommand, RESERVATION_TTL_MS, usernameProblem, userExists, uniqueKey } from '../state/registry.js'
import type { PlatformState, RegistryUser } from '../state/types.js'
import { type MessageId, plainError, RegisterError, v1Error, v1Errors } from './errors.js'
import { checkAccessRequest, checkAccessUpdate, isAccessKey } from './access.js'
import { coreUrl, hostingsView, placeUser, resolveCore } from './placement.js'
import type { RegistrySettings } from './settings.js'

/** What the register API needs from its node: state, settings, writes through the writer set, consistent reads. */
export interface RegistryBackend {
  state(): PlatformState
  settings(): RegistrySettings
  /** Commits a registry command and returns its outcome once applied on this node (read-your-writes). */
  submit(command: RegistryCommand): Promise<ApplyResult>
  /** Resolves once this node has applied every write acknowledged before the call. */
  consistent(): Promise<void>
  /** A fresh random key of `length` alphanumeric characters. */
  randomKey(length: number): string
  /** Reports an unexpected failure (a bug), answered 500. */
  onInternalError(err: unknown): void
}

type Role = 'system' | 'admin'

const MAX_BODY_BYTES = 1024 * 1024

/** v1's username check: trimmed, lower-cased, then the pattern; null when invalid. */
function cleanUsername(raw: unknown): string | null {
  if (typeof raw !== 'string' || raw === '') return null
  const u = raw.trim().toLowerCase()
  return /^[a-z0-9][a-z0-9-]{3,58}[a-z0-9]$/.test(u) ? u : null
}

/** v1 accepts nearly any string as an e-mail (up to 300 characters). */
function cleanEmail(raw: unknown): string | null {
  if (typeof raw !== 'string') return null
  const e = raw.trim()
  return e.length > 0 && e.length <= 300 ? e : null
}

function sameSecret(given: string, expected: string | undefined): boolean {
  if (!expected) return false
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(expected).digest()
  return timingSafeEqual(a, b)
}

/**
 * The register HTTP API of Pryv.io v1 (pryv/service-register), served from the replicated state:
 * routes, payloads, status codes and error ids as v1 answers them, without its defects (every input
 * checked, uniqueness enforced by the writer set, fresh error objects).
 */
export function registryApp(backend: RegistryBackend): Hono {
  const app = new Hono()

  // v1's cross-domain middleware: browser apps call reg and access from their own origins.
  app.use('*', async (c, next) => {
    const headers = {
      'Access-Control-Allow-Origin': c.req.header('origin') ?? '*',
      'Access-Control-Allow-Methods': c.req.header('access-control-request-method') ?? 'GET, PUT, POST, DELETE, OPTIONS',
      'Access-Control-Allow-Headers': c.req.header('access-control-request-headers') ?? 'Content-Type',
      'Access-Control-Max-Age': String(365 * 24 * 3600),
      'Access-Control-Allow-Credentials': 'true'
    }
    if (c.req.method === 'OPTIONS') return c.text('OK', 200, headers)
    await next()
    for (const [k, v] of Object.entries(headers)) c.res.headers.set(k, v)
  })

  app.onError((err, c) => {
    if (err instanceof RegisterError) return c.json(err.body as object, err.status as 400)
    if (isOperatorError(err)) return c.json({ id: 'INTERNAL_ERROR', message: 'The platform cannot take this write right now', detail: err.message, errors: [] }, 503)
    backend.onInternalError(err)
    return c.json({ id: 'INTERNAL_ERROR', message: 'Internal Error', detail: 'Something went bad on our side, sorry for this inconvenience.', errors: [] }, 500)
  })
  app.notFound((c) => c.json({ id: 'NOT_FOUND', message: `no route ${c.req.method} ${c.req.path}` }, 404))

  const auth = (c: Context, role: Role): void => {
    const given = c.req.header('authorization') ?? c.req.query('auth')
    const s = backend.settings()
    const roles: Role[] = []
    if (given && sameSecret(given, s.systemKey)) roles.push('system')
    if (given && sameSecret(given, s.adminKey)) roles.push('admin')
    if (roles.length === 0) throw plainError(401, 'unauthorized', 'Expected "Authorization" header or "auth" query parameter')
    if (!roles.includes(role)) throw plainError(403, 'forbidden', 'Access forbidden')
  }

  const body = async (c: Context): Promise<Record<string, unknown>> => {
    const tooLarge = new RegisterError(413, { error: { id: 'invalid-parameters-format', message: `the request body is larger than ${MAX_BODY_BYTES} bytes` } })
    if (Number(c.req.header('content-length') ?? 0) > MAX_BODY_BYTES) throw tooLarge
    const text = await c.req.text()
    if (text.length > MAX_BODY_BYTES) throw tooLarge
    if (text.trim() === '') return {}
    // v1 also takes HTML form posts.
    if (c.req.header('content-type')?.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text))
    try {
      const parsed: unknown = JSON.parse(text)
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Record<string, unknown>
    } catch (err) {
      throw new RegisterError(400, { error: { id: 'invalid-parameters-format', message: String(err) } })
    }
    throw new RegisterError(400, { error: { id: 'invalid-parameters-format', message: 'the body must be a JSON object' } })
  }

  const text = (c: Context, value: boolean) => c.text(String(value), 200, { 'Content-Type': 'text/plain' })

  /** Usernames and e-mails: taken platform-wide as of every write acknowledged before the request. */
  const usernameTaken = async (username: string): Promise<boolean> => {
    await backend.consistent()
    return userExists(backend.state(), username)
  }
  const emailOwner = (email: string): string | undefined => backend.state().registryUnique.get(uniqueKey('email', email))

  // --- Service information and lookups (public) ---
  const info = (c: Context) => c.json({ ...backend.settings().serviceInfo, version: '1.9.2' })
  app.get('/service/info', info)
  app.get('/service/infos', info)
  app.get('/apps', (c) => c.json({ apps: [] }))
  app.get('/apps/:appid', (c) => c.json({ app: { id: c.req.param('appid') } }))
  app.get('/hostings', (c) => c.json(hostingsView(backend.state(), backend.settings())))

  app.get('/cores', (c) => {
    const username = c.req.query('username')
    const email = c.req.query('email')
    if (username === undefined && email === undefined) throw v1Error(400, 'INVALID_PARAMETERS', { message: 'provide "username" or "email" as query parameters.' })
    if (username !== undefined && email !== undefined) throw v1Error(400, 'INVALID_PARAMETERS', { message: 'provide only "username" or "email" as query parameter, not both.' })
    const state = backend.state()
    const s = backend.settings()
    let user: string | undefined
    if (username !== undefined) {
      user = cleanUsername(username) ?? undefined
      if (!user) throw v1Error(400, 'INVALID_USER_NAME')
    } else {
      const e = cleanEmail(email)
      if (!e) throw v1Error(400, 'INVALID_EMAIL')
      user = emailOwner(e)
      // v1: an unknown e-mail gets the first core, where the app may sign up.
      if (!user) return c.json({ core: { url: coreUrl(s, [...s.coreHosting.keys()].sort()[0] ?? '') } })
    }
    const core = state.dnsUsers.get(user)
    if (!core) throw v1Error(404, 'UNKNOWN_USER_NAME')
    return c.json({ core: { url: coreUrl(s, core) } })
  })

  app.post('/username/check', async (c) => {
    const username = cleanUsername((await body(c)).username)
    if (!username || usernameProblem(backend.state(), username)) return text(c, false)
    return text(c, !(await usernameTaken(username)))
  })

  app.post('/email/check', async (c) => {
    const email = cleanEmail((await body(c)).email)
    if (!email) return text(c, false)
    await backend.consistent()
    return text(c, emailOwner(email) === undefined)
  })

  // --- Access requests (auth flow of apps); before the /:param routes so that /access/... wins ---
  app.post('/access', async (c) => {
    const s = backend.settings()
    const key = backend.randomKey(16)
    const request = checkAccessRequest(await body(c), s, key)
    const result = await backend.submit({ kind: 'registry.access.set', key, create: true, state: request, expiresAt: Date.now() + ACCESS_TTL_MS })
    if (!result.ok) throw v1Error(500, 'INTERNAL_ERROR')
    return c.json({ ...request, serviceInfo: request.serviceInfo ?? s.serviceInfo }, 201)
  })

  app.post('/access/invitationtoken/check', async (c) => {
    const token = (await body(c)).invitationtoken
    await backend.consistent()
    return text(c, invitationValid(backend.state(), backend.settings(), token))
  })

  const accessState = async (key: string): Promise<Record<string, unknown>> => {
    if (!isAccessKey(key)) throw v1Error(400, 'INVALID_KEY')
    await backend.consistent()
    const access = backend.state().registryAccess.get(key)
    if (!access || access.expiresAt <= Date.now()) throw v1Error(400, 'INVALID_KEY')
    return access.state as Record<string, unknown>
  }

  app.get('/access/:key', async (c) => {
    const state = await accessState(c.req.param('key'))
    return c.json({ ...state, serviceInfo: state.serviceInfo ?? backend.settings().serviceInfo }, (state.code as 200) ?? 200)
  })

  app.post('/access/:key', async (c) => {
    const key = c.req.param('key')
    const previous = await accessState(key)
    const next = checkAccessUpdate(await body(c), backend.settings())
    if (previous.serviceInfo) next.serviceInfo = previous.serviceInfo
    const result = await backend.submit({ kind: 'registry.access.set', key, create: false, state: next, expiresAt: 0 })
    if (!result.ok) {
      if (result.code === 'PRYV_REGISTRY_ACCESS_ENDED') throw v1Error(400, 'INVALID_DATA', { message: result.message })
      throw v1Error(400, 'INVALID_KEY')
    }
    return c.json({ ...next, serviceInfo: next.serviceInfo ?? backend.settings().serviceInfo }, next.code as 200)
  })

  // --- System role: called by cores ---
  app.post('/users/validate', async (c) => {
    auth(c, 'system')
    const b = await body(c)
    const username = cleanUsername(b.username)
    if (!username) throw v1Error(400, 'INVALID_USER_NAME')
    const reserved = usernameProblem(backend.state(), username)
    if (reserved) throw v1Error(400, 'RESERVED_USER_NAME')
    const core = typeof b.core === 'string' && b.core !== '' ? b.core : undefined
    if (!core) throw v1Error(400, 'INVALID_DATA', { message: 'missing "core"' })
    const uniqueFields = b.uniqueFields ?? {}
    if (typeof uniqueFields !== 'object' || uniqueFields === null || Array.isArray(uniqueFields) || !Object.values(uniqueFields).every((v) => typeof v === 'string')) {
      throw v1Error(400, 'INVALID_DATA', { message: '"uniqueFields" must be an object of strings' })
    }
    await backend.consistent()
    if (!invitationValid(backend.state(), backend.settings(), b.invitationToken)) {
      return c.json({ reservation: false, error: { id: 'invitationToken-invalid', data: {} } }, 400)
    }
    const fields: Record<string, string> = { ...(uniqueFields as Record<string, string>), username }
    const result = await backend.submit({ kind: 'registry.reserve', core, fields, expiresAt: Date.now() + RESERVATION_TTL_MS })
    if (!result.ok) return c.json({ reservation: false, error: { id: 'item-already-exists', data: result.data ?? {} } }, 400)
    return c.json({ reservation: true })
  })

  app.post('/users', async (c) => {
    auth(c, 'system')
    const b = await body(c)
    const user = b.user
    if (typeof user !== 'object' || user === null || Array.isArray(user)) throw v1Error(400, 'INVALID_DATA', { message: 'missing "user" object' })
    const { username: rawName, appId, invitationToken, ...rest } = user as Record<string, unknown>
    const username = cleanUsername(rawName)
    if (!username) throw v1Error(400, 'INVALID_USER_NAME')
    if (usernameProblem(backend.state(), username)) throw v1Error(400, 'RESERVED_USER_NAME')
    const fields: Record<string, FieldValue> = {}
    for (const [k, v] of Object.entries({ ...rest, ...(appId !== undefined ? { appid: appId } : {}), ...(invitationToken !== undefined ? { invitationToken } : {}) })) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(k) || !(v === null || ['string', 'number', 'boolean'].includes(typeof v))) throw v1Error(400, 'INVALID_DATA', { message: `field "${k}" must be a string, number or boolean` })
      fields[k] = k === 'email' && typeof v === 'string' ? v.toLowerCase() : v as FieldValue
    }
    const unique = Array.isArray(b.unique) ? b.unique.filter((f): f is string => typeof f === 'string' && f !== 'username') : ['email']
    const state = backend.state()
    const s = backend.settings()
    const host = (b.host as { name?: unknown } | undefined)?.name
    const core = host === undefined ? placeUser(state, s, typeof fields.hosting === 'string' ? fields.hosting : undefined) : resolveCore(state, s, host)
    if (!core) throw v1Error(400, 'UNAVAILABLE_HOSTING')
    // v1 consumes the token here too: an invalid one is refused (404), a single-use one is used up in the same entry.
    if (s.invitationTokens !== null && !invitationValid(state, s, invitationToken)) throw v1Error(404, 'INVALID_INVITATION')
    const invitation = typeof invitationToken === 'string' && state.registryInvitations.has(invitationToken) ? invitationToken : undefined
    const result = await backend.submit({ kind: 'registry.user.create', username, core, fields, unique, ...(invitation ? { invitation } : {}) })
    if (!result.ok) throw creationRefused(result)
    return c.json({ username, server: `${username}.${s.domain}`, apiEndpoint: apiEndpoint(s, username) }, 201)
  })

  app.put('/users', async (c) => {
    auth(c, 'system')
    const b = await body(c)
    const username = cleanUsername(b.username)
    if (!username) throw v1Error(400, 'INVALID_USER_NAME')
    const update = parseUpdate(b.user ?? {}, b.fieldsToDelete ?? {})
    const result = await backend.submit({ kind: 'registry.user.update', username, ...update })
    if (!result.ok) {
      if (result.code === 'PRYV_REGISTRY_UNKNOWN_USER') throw plainError(404, 'UNKNOWN_USER_NAME', 'No such user')
      return c.json({ user: false, error: { id: 'item-already-exists', data: result.data ?? {} } }, 400)
    }
    return c.json({ user: true })
  })

  app.delete('/users/:username', async (c) => {
    auth(c, 'system')
    if (c.req.query('onlyReg') !== 'true') throw plainError(421, 'NO_SUCH_FUNCTION', 'This method needs onlyReg=true for now (query).')
    const username = c.req.param('username').toLowerCase()
    const dryRun = c.req.query('dryRun') === 'true'
    await backend.consistent()
    if (!backend.state().registryUsers.has(username)) throw plainError(404, 'NO_SUCH_USER', `No such user ('${username}')`)
    if (dryRun) return c.json({ result: { dryRun: true, deleted: false } })
    const result = await backend.submit({ kind: 'registry.user.delete', username })
    if (!result.ok) throw plainError(404, 'NO_SUCH_USER', `No such user ('${username}')`)
    return c.json({ result: { dryRun: false, deleted: true } })
  })

  app.get('/admin/users/:username', (c) => {
    auth(c, 'system')
    const user = backend.state().registryUsers.get(c.req.param('username').toLowerCase())
    if (!user) return c.text('User not found', 404)
    return c.json(userInfo(backend.settings(), user))
  })

  app.get('/admin/servers/:src/rename/:dst', async (c) => {
    auth(c, 'system')
    const state = backend.state()
    const s = backend.settings()
    const from = resolveCore(state, s, c.req.param('src'), true)
    if (!from) throw v1Error(400, 'INVALID_DATA', { message: 'srcServerName invalid' })
    const to = resolveCore(state, s, c.req.param('dst'))
    if (!to) throw v1Error(400, 'INVALID_DATA', { message: 'dstServerName invalid' })
    const result = await backend.submit({ kind: 'registry.server.rename', from, to })
    if (!result.ok) throw v1Error(400, 'INVALID_DATA', { message: result.message })
    return c.json({ count: (result.value as { count: number }).count })
  })

  // --- Admin role ---
  app.get('/admin/servers', (c) => {
    auth(c, 'admin')
    const s = backend.settings()
    return c.json({ servers: Object.fromEntries([...backend.state().registryCounts].map(([core, n]) => [`${core}.${s.domain}`, n])) })
  })

  app.get('/admin/servers/:server/users', (c) => {
    auth(c, 'admin')
    const core = resolveCore(backend.state(), backend.settings(), c.req.param('server'), true)
    if (!core) throw v1Error(400, 'INVALID_DATA', { message: 'serverName invalid' })
    return c.json({ users: [...backend.state().registryUsers.values()].filter((u) => u.core === core).map((u) => u.username) })
  })

  app.get('/admin/users', (c) => {
    auth(c, 'admin')
    const s = backend.settings()
    const users = [...backend.state().registryUsers.values()].map((u) => userInfo(s, u)).sort((a, b) => b.registeredTimestamp - a.registeredTimestamp)
    return c.json({ users })
  })

  app.get('/admin/invitations', (c) => {
    auth(c, 'admin')
    return c.json({ invitations: [...backend.state().registryInvitations.values()] })
  })

  app.get('/admin/invitations/post', async (c) => {
    auth(c, 'admin')
    const count = Number(c.req.query('count'))
    if (!Number.isSafeInteger(count) || count < 1 || count > 1000) throw v1Error(400, 'INVALID_PARAMETERS', { message: '"count" must be 1 to 1000' })
    const description = c.req.query('message') ?? ''
    const invitations = Array.from({ length: count }, () => ({ id: backend.randomKey(8).toLowerCase(), description }))
    const result = await backend.submit({ kind: 'registry.invitations.create', invitations })
    if (!result.ok) throw v1Error(500, 'INTERNAL_ERROR')
    return c.json({ data: invitations.map((i) => backend.state().registryInvitations.get(i.id)) })
  })

  // --- Lookups by username or e-mail in the first path segment (last: fixed paths win) ---
  app.get('/:username/check_username', async (c) => {
    const username = cleanUsername(c.req.param('username'))
    if (!username) throw v1Error(400, 'INVALID_USER_NAME')
    if (usernameProblem(backend.state(), username)) return c.json({ reserved: true, reason: 'RESERVED_USER_NAME' })
    return c.json({ reserved: await usernameTaken(username) })
  })

  app.get('/:email/check_email', async (c) => {
    const email = cleanEmail(c.req.param('email'))
    if (!email) throw v1Error(400, 'INVALID_EMAIL')
    await backend.consistent()
    return c.json({ exists: emailOwner(email) !== undefined })
  })

  const usernameOfEmail = (raw: string): string => {
    if (backend.settings().disableGetUsernameByEmail) throw v1Error(405, 'DISABLED_METHOD')
    const email = cleanEmail(raw)
    if (!email) throw v1Error(400, 'INVALID_EMAIL')
    const username = emailOwner(email)
    if (!username) throw v1Error(404, 'UNKNOWN_EMAIL')
    return username
  }
  app.get('/:email/username', (c) => c.json({ username: usernameOfEmail(c.req.param('email')) }))
  app.get('/:email/uid', (c) => c.json({ uid: usernameOfEmail(c.req.param('email')) }))

  const serverOf = (raw: string): string => {
    const username = cleanUsername(raw)
    if (!username) throw v1Error(400, 'INVALID_USER_NAME')
    const core = backend.state().dnsUsers.get(username)
    if (!core) throw v1Error(404, 'UNKNOWN_USER_NAME')
    return `${core}.${backend.settings().domain}`
  }
  app.get('/:uid/server', (c) => {
    const uid = c.req.param('uid').trim().toLowerCase()
    return c.redirect(`https://${serverOf(uid)}/?username=${uid}`, 302)
  })
  app.post('/:uid/server', (c) => {
    const uid = c.req.param('uid').trim().toLowerCase()
    return c.json({ server: serverOf(uid), alias: `${uid}.${backend.settings().domain}` })
  })

  return app
}

/** v1's answer to a duplicate at signup (`POST /user`): one error, or INVALID_DATA with its causes. */
function creationRefused(result: ApplyResult & { ok: false }): RegisterError {
  if (result.code === 'PRYV_REGISTRY_TAKEN') {
    const fields = Object.keys(result.data ?? {})
    const causes: MessageId[] = fields.map((f) => (f === 'username' ? 'EXISTING_USER_NAME' : f === 'email' ? 'EXISTING_EMAIL' : 'INVALID_DATA'))
    if (causes.length === 1 && causes[0] !== 'INVALID_DATA') return v1Error(400, causes[0]!, { data: result.data })
    return v1Errors(400, 'INVALID_DATA', causes)
  }
  if (result.code === 'PRYV_REGISTRY_INVITATION') return v1Error(400, 'INVALID_INVITATION')
  if (result.code === 'PRYV_REGISTRY_RESERVED') return v1Error(400, 'RESERVED_USER_NAME')
  if (result.code === 'PRYV_REGISTRY_INVALID_USERNAME') return v1Error(400, 'INVALID_USER_NAME')
  return v1Error(400, 'UNAVAILABLE_HOSTING')
}

/** v1's PUT /users body: `{field: [{value, isUnique, isActive}]}` (or plain values) and `{field: value}` to delete. */
function parseUpdate(user: unknown, toDelete: unknown): { set: Record<string, FieldValue>, unique: string[], unset: string[] } {
  if (typeof user !== 'object' || user === null || Array.isArray(user) || typeof toDelete !== 'object' || toDelete === null) {
    throw v1Error(400, 'INVALID_DATA', { message: '"user" and "fieldsToDelete" must be objects' })
  }
  const set: Record<string, FieldValue> = {}
  const unique: string[] = []
  for (const [field, raw] of Object.entries(user)) {
    if (field === 'username') continue
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(field)) throw v1Error(400, 'INVALID_DATA', { message: `field "${field}" is not a valid name` })
    const entries = Array.isArray(raw) ? raw : [{ value: raw }]
    const active = entries.find((e) => e && typeof e === 'object' && (e as { isActive?: unknown }).isActive !== false) ?? entries[0]
    const value = (active as { value?: unknown } | undefined)?.value
    if (!(value === null || ['string', 'number', 'boolean'].includes(typeof value))) throw v1Error(400, 'INVALID_DATA', { message: `field "${field}" needs a scalar value` })
    set[field] = field === 'email' && typeof value === 'string' ? value.toLowerCase() : value as FieldValue
    if ((active as { isUnique?: unknown }).isUnique === true || field === 'email') unique.push(field)
  }
  const unset = Object.keys(toDelete).filter((f) => f !== 'username' && !(f in set))
  return { set, unique, unset }
}

function invitationValid(state: PlatformState, s: RegistrySettings, token: unknown): boolean {
  if (s.invitationTokens === null) return true
  if (typeof token !== 'string') return false
  if (s.invitationTokens.includes(token)) return true
  const inv = state.registryInvitations.get(token)
  return inv !== undefined && inv.consumedAt === undefined
}

function apiEndpoint(s: RegistrySettings, username: string): string {
  return String(s.serviceInfo.api).replace('{username}', username)
}

function userInfo(s: RegistrySettings, u: RegistryUser): Record<string, unknown> & { registeredTimestamp: number } {
  return { ...u.fields, username: u.username, server: `${u.core}.${s.domain}`, registeredTimestamp: u.registeredAt, registeredDate: new Date(u.registeredAt).toUTCString() }
}
