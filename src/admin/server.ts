import type { Server } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { HttpBindings } from '@hono/node-server'
import type { Context, Hono } from 'hono'
import { describeSchemaJson } from '../config/describe.js'
import { defineSchema } from '../config/schema.js'
import { type ControlHandler, ControlStream } from '../control/server.js'
import { ExitCode, isOperatorError, OperatorError } from '../errors.js'
import { closeServer, hostAllowed } from '../metrics/http.js'
import { honoOnFirstRequest, http, https } from '../http-server.js'
import type { Logger } from '../log.js'
import type { LivenessView } from '../mesh/liveness.js'
import { DEFAULT_BUNDLE_LIMITS } from '../release/bundle-dir.js'
import type { Command } from '../state/commands.js'
import type { PlatformState } from '../state/types.js'
import { AdminAccounts, type Principal, TooManyAttempts } from './accounts.js'
import { runAs } from './actor.js'
import { type AdminAddress, adminListenError, adminUrl } from './listen.js'
import { openApiDocument } from './openapi.js'
import { APP_CSS, APP_JS, auditPage, type DryRun, loginPage, logsPage, type MembersView, membersPage, overviewPage, type PageContext, passwordPage, type ServicesView, type SettingsDiff, type SettingsExplain, type SettingsView, servicesPage, settingsPage } from './pages.js'
import { requiredRole, roleAllows } from './permissions.js'
import { type MemberReports, rolloutWaves } from './rollout.js'
import { MAX_USERS_PAGE_SIZE, type UsersQuery, USERS_PAGE_SIZE, usersPage, usersPageHtml } from './users.js'
import { type DnsView, dnsPage, type ReleaseRollout, type ReleasesView, releasesPage } from './platform-pages.js'
import { csrfMatches, csrfToken, decodeSession, encodeSession, newSession, REFRESH_MS, type Session, sessionKey } from './sessions.js'
import { certificateOf } from '../state/certs.js'
import { type AdminCertificate, adminCertificate, describeServed, platformCertificateServes, type ServedCertificate } from './tls.js'
import { receiveUpload, UploadTooLarge, uploadTooLarge } from './upload.js'
import { compareText } from '../text-order.js'

type Env = { Bindings: HttpBindings, Variables: { principal?: Principal, session?: Session } }

const MAX_BODY_BYTES = 1024 * 1024
/** A release bundle uploaded to the app: as large as a bundle may be unpacked. */
const MAX_UPLOAD_BYTES = DEFAULT_BUNDLE_LIMITS.maxBytes

/**
 * What the admin server needs of its node. PlatformNode provides it; declaring it here keeps src/admin
 * from importing src/node (the node builds the admin server, not the other way round).
 */
export interface AdminNode {
  readonly selfId: string
  readonly ctx: {
    readonly config: { readonly name: string, readonly domain: string, readonly dns: readonly string[] }
    readonly log: Logger
    readonly platformKey: () => string | undefined
  }
  readonly replica: {
    readonly state: PlatformState
    /** Told of every applied entry and installed snapshot (a new platform certificate is served at once). */
    on(event: 'applied' | 'installed', listener: () => void): unknown
    off(event: 'applied' | 'installed', listener: () => void): unknown
  }
  readonly membership: { view(peerId: string): LivenessView }
  readonly dns: { readonly bound: readonly string[] }
  /** Every member's render reports (asked over the mesh): a release's rollout, wave by wave. */
  readonly settings: { allReports(): Promise<readonly MemberReports[]> }
  /** How many members restart at once in a rollout (`--restart-budget`); 1 when not set. */
  readonly restartBudget?: number
  status(): unknown
  submit(command: Command): Promise<unknown>
}

/**
 * The admin app and JSON API of one node (issue 13): `/healthz` and `/readyz` for supervisors, the
 * API under `/api/v1` (every operation of the node's table that has a permission, with the same
 * validation and errors as the CLI), and the server-rendered app. Loopback addresses are served over
 * HTTP; any other over HTTPS only.
 *
 * Lifecycle: `start()` after the node's parts (throws an OperatorError, exit 7, when it cannot
 * listen); `stop()` before them; both idempotent.
 */
export class AdminServer {
  readonly accounts: AdminAccounts
  private server?: Server
  private boundUrl?: string
  /** Over HTTPS: the node's self-signed certificate, and what is served now (the platform's when it covers this node). */
  private selfSigned?: AdminCertificate
  private served?: ServedCertificate
  private recheckTimer?: NodeJS.Timeout
  private signing?: { readonly keyHex: string, readonly key: Buffer }

  constructor(private readonly node: AdminNode, private readonly address: AdminAddress | undefined, private readonly dataDir: string, private readonly operations: () => Readonly<Record<string, ControlHandler>>) {
    this.accounts = new AdminAccounts({
      state: () => node.replica.state,
      submit: (command) => node.submit(command),
      baseUrl: () => this.boundUrl
    })
  }

  /**
   * The sessions' signing key, derived from the platform key this node uses now: a node that joined
   * has it from its join (its config's is empty until it restarts). A key rotation changes it, which
   * ends the sessions made before. Never derived from an empty key, which anyone could forge with.
   */
  private get key(): Buffer {
    const keyHex = this.node.ctx.platformKey()
    if (!keyHex) throw new Error('the admin server has no platform key to sign sessions with')
    if (this.signing?.keyHex !== keyHex) this.signing = { keyHex, key: sessionKey(keyHex) }
    return this.signing.key
  }

  /** The app's URL on this node, once it serves it. */
  get url(): string | undefined {
    return this.boundUrl
  }

  status(): { url: string, fingerprint?: string, certificate?: ServedCertificate } | null {
    return this.boundUrl ? { url: this.boundUrl, ...(this.served ? { fingerprint: this.served.fingerprint, certificate: this.served } : {}) } : null
  }

  /** The name this node's admin app is reached at beyond loopback, which the platform certificate must cover. */
  private get hostName(): string {
    return `${this.node.ctx.config.name}.${this.node.ctx.config.domain}`
  }

  /** The platform's certificate when it covers this node's name and is valid now, else the self-signed one. */
  private chooseCertificate(): { cert: string, key: string, served: ServedCertificate } {
    const platform = certificateOf(this.node.replica.state)
    if (platformCertificateServes(platform, this.hostName, Date.now())) return { cert: platform.chainPem, key: platform.keyPem, served: describeServed('platform', platform.chainPem) }
    const own = this.selfSigned!
    return { cert: own.cert, key: own.key, served: describeServed('self-signed', own.cert) }
  }

  /**
   * Swaps the certificate of new connections when the choice changed (a certificate issued, renewed
   * or imported; the one served expired): no restart, open connections keep theirs.
   */
  private readonly recheckCertificate = (): void => {
    const server = this.server as HttpsServer | undefined
    if (!server || !this.served) return
    const chosen = this.chooseCertificate()
    if (chosen.served.fingerprint !== this.served.fingerprint) {
      server.setSecureContext({ cert: chosen.cert, key: chosen.key, minVersion: 'TLSv1.2' })
      this.served = chosen.served
      this.node.ctx.log.info({ certificate: chosen.served }, 'the admin app serves another certificate')
    }
    this.scheduleRecheck()
  }

  /** Looks again when the certificate served expires (at most daily: timers are capped). */
  private scheduleRecheck(): void {
    clearTimeout(this.recheckTimer)
    if (!this.served) return
    const delay = Math.min(Math.max(0, Date.parse(this.served.notAfter) - Date.now() + 1000), 86_400_000)
    this.recheckTimer = setTimeout(this.recheckCertificate, delay)
    this.recheckTimer.unref()
  }

  private readonly onApplied = (_entry?: unknown, command?: { kind?: string }): void => {
    if (command?.kind === undefined || command.kind.startsWith('certs.')) this.recheckCertificate()
  }

  async start(): Promise<void> {
    const address = this.address
    if (!address || this.server) return
    // hono is loaded at the first request; the address is bound now, so a bind error is reported at start.
    const listener = honoOnFirstRequest(() => this.app(), { overrideGlobalObjects: true, onError: (err) => this.node.ctx.log.error({ err: err.stack ?? String(err) }, 'the admin app could not be loaded') })
    let server: Server
    if (address.https) {
      this.selfSigned = await adminCertificate(this.dataDir, this.node.ctx.config.name, this.node.ctx.config.domain)
      const chosen = this.chooseCertificate()
      this.served = chosen.served
      server = https().createServer({ cert: chosen.cert, key: chosen.key, minVersion: 'TLSv1.2' }, listener)
    } else {
      server = http.createServer(listener)
    }
    server.headersTimeout = 10_000
    server.requestTimeout = 0 // event streams stay open
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(adminListenError(err, address)))
      server.listen({ host: address.host, port: address.port, exclusive: true }, () => resolve())
    })
    server.on('error', (err) => this.node.ctx.log.warn({ err: err.message }, 'admin server error'))
    this.server = server
    const port = (server.address() as { port: number }).port
    this.boundUrl = adminUrl(address, port)
    if (this.served) {
      this.node.replica.on('applied', this.onApplied)
      this.node.replica.on('installed', this.onApplied)
      this.scheduleRecheck()
    }
    this.node.ctx.log.info({ url: this.boundUrl, ...(this.served ? { fingerprint: this.served.fingerprint, certificate: this.served } : {}) }, 'serving the admin app')
  }

  async stop(): Promise<void> {
    this.node.replica.off('applied', this.onApplied)
    this.node.replica.off('installed', this.onApplied)
    clearTimeout(this.recheckTimer)
    const server = this.server
    this.server = undefined
    this.boundUrl = undefined
    if (server) await closeServer(server)
  }

  /** Ready: a member, with the state applied up to what the live members have, and DNS serving if asked. */
  private ready(): boolean {
    const state = this.node.replica.state
    if (!state.members.has(this.node.selfId)) return false
    for (const m of state.members.values()) {
      const view = this.node.membership.view(m.peerId)
      if (view.alive && (view.lastHeartbeat?.revision ?? 0) > state.revision) return false
    }
    return this.node.ctx.config.dns.length === 0 || this.node.dns.bound.length > 0
  }

  private async app(): Promise<Hono<Env>> {
    const [{ Hono }, { getCookie, setCookie, deleteCookie }, { streamSSE }] = await Promise.all([import('hono'), import('hono/cookie'), import('hono/streaming')])
    const app = new Hono<Env>()
    const https = this.address?.https === true
    const cookieName = https ? '__Host-pryv_admin' : 'pryv_admin'
    const page = (c: Context<Env>): PageContext => {
      const session = c.get('session')
      return { node: this.node.ctx.config.name, principal: c.get('principal'), csrf: session ? csrfToken(this.key, session.sid) : undefined }
    }
    const setSession = (c: Context<Env>, session: Session): void => {
      setCookie(c, cookieName, encodeSession(this.key, session), { httpOnly: true, secure: https, sameSite: 'Strict', path: '/' })
    }
    const source = (c: Context<Env>): string => c.env.incoming.socket.remoteAddress ?? 'unknown'

    app.use('*', async (c, next) => {
      // A loopback server answers only requests for a loopback name: no DNS rebinding from a web page.
      if (!https && !hostAllowed(c.req.header('host'))) return c.text('only requests for a loopback address or localhost are served\n', 421)
      await next()
      c.header('Content-Security-Policy', "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
      c.header('X-Content-Type-Options', 'nosniff')
      c.header('X-Frame-Options', 'DENY')
      c.header('Referrer-Policy', 'no-referrer')
      c.header('Cross-Origin-Opener-Policy', 'same-origin')
      if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store')
      if (https) c.header('Strict-Transport-Security', 'max-age=31536000')
    })

    // Unauthenticated, revealing nothing but up or ready.
    app.get('/healthz', (c) => c.text('ok\n'))
    app.get('/readyz', (c) => (this.ready() ? c.text('ready\n') : c.text('not ready\n', 503)))
    app.get('/assets/app.css', (c) => c.body(APP_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=300' }))
    app.get('/assets/app.js', (c) => c.body(APP_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': 'max-age=300' }))
    app.get('/favicon.ico', (c) => c.body(null, 204))
    app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(Object.keys(this.operations()))))

    // Who calls: an API token (no cookie, so no CSRF), or a session cookie.
    app.use('*', async (c, next) => {
      const auth = c.req.header('authorization')
      if (auth?.startsWith('Bearer ')) {
        const principal = this.accounts.tokenPrincipal(auth.slice(7).trim())
        if (!principal) return apiError(c, 401, 'PRYV_ADMIN_UNAUTHENTICATED', 'The API token is not valid (unknown, revoked or expired).', 'Create one with `pryv-node admin tokens create`.')
        c.set('principal', principal)
        return next()
      }
      const cookie = getCookie(c, cookieName)
      const now = Date.now()
      const session = cookie ? decodeSession(this.key, cookie, now) : undefined
      const principal = session ? this.accounts.sessionPrincipal(session.account, session.epoch) : undefined
      if (session && principal) {
        c.set('session', session)
        c.set('principal', principal)
        if (now - session.lastSeen > REFRESH_MS) setSession(c, { ...session, lastSeen: now })
        if (!['GET', 'HEAD'].includes(c.req.method)) {
          const form = c.req.header('content-type')?.startsWith('application/x-www-form-urlencoded') ? await c.req.parseBody() : {}
          const token = c.req.header('x-csrf-token') ?? (typeof form._csrf === 'string' ? form._csrf : undefined)
          if (!csrfMatches(this.key, session.sid, token)) return apiError(c, 403, 'PRYV_ADMIN_CSRF', 'The request lacks this session\'s CSRF token.', 'Send it in the X-CSRF-Token header (GET /api/v1/session gives it).')
        }
      } else if (cookie) deleteCookie(c, cookieName, { path: '/', secure: https })
      return next()
    })

    // --- JSON API ---
    const login = async (c: Context<Env>, how: () => Promise<{ account: string, epoch: number }>) => {
      try {
        const { account, epoch } = await how()
        const session = newSession(account, epoch, Date.now())
        setSession(c, session)
        const principal = this.accounts.sessionPrincipal(account, epoch)!
        return { session, principal }
      } catch (err) {
        if (err instanceof TooManyAttempts) c.header('Retry-After', String(Math.ceil(err.retryAfterMs / 1000)))
        throw err
      }
    }
    /** A streamed reply as server-sent events: `item`s, then `end` or `error`; `done` runs after. */
    // Read as the caller: what the stream submits (a release's commit) is theirs in the audit trail.
    const eventStream = (c: Context<Env>, result: ControlStream, done?: () => Promise<void>) => streamSSE(c, async (stream) => {
      try {
        await runAs(c.get('principal')!.actor, async () => {
          for await (const item of result.items) {
            if (stream.aborted) break
            await stream.writeSSE({ event: 'item', data: JSON.stringify(item) })
          }
        })
        await stream.writeSSE({ event: 'end', data: '{}' })
      } catch (err) {
        await stream.writeSSE({ event: 'error', data: JSON.stringify(errorBody(err)) })
      } finally {
        await done?.()
      }
    })
    const sessionReply = (principal: Principal, session: Session) => ({ account: session.account, role: principal.role, mustSetPassword: principal.mustSetPassword, csrf: csrfToken(this.key, session.sid) })

    app.post('/api/v1/login', async (c) => {
      const body = await jsonBody(c)
      const { session, principal } = await login(c, () => this.accounts.login(body.name, body.password, source(c)))
      return c.json(sessionReply(principal, session))
    })
    app.post('/api/v1/login/link', async (c) => {
      const body = await jsonBody(c)
      const { session, principal } = await login(c, () => this.accounts.redeemLink(body.link, source(c)))
      return c.json(sessionReply(principal, session))
    })
    app.use('/api/v1/*', async (c, next) => {
      const principal = c.get('principal')
      if (!principal) return apiError(c, 401, 'PRYV_ADMIN_UNAUTHENTICATED', 'Log in first.', 'POST /api/v1/login with name and password, or send an API token as Authorization: Bearer.')
      // An account that logged in with a link may only choose its password (or leave).
      if (principal.mustSetPassword && !['/api/v1/session', '/api/v1/password', '/api/v1/logout'].includes(c.req.path)) {
        return apiError(c, 403, 'PRYV_ADMIN_PASSWORD_REQUIRED', 'Choose a password first.', 'POST /api/v1/password.')
      }
      return next()
    })
    app.get('/api/v1/session', (c) => {
      const session = c.get('session')
      const principal = c.get('principal')!
      return c.json(session ? sessionReply(principal, session) : { actor: principal.actor, role: principal.role })
    })
    app.post('/api/v1/logout', async (c) => {
      const session = c.get('session')
      if (session) await runAs(c.get('principal')!.actor, () => this.accounts.endSessions(session.account))
      deleteCookie(c, cookieName, { path: '/', secure: https })
      return c.json({ ok: true })
    })
    app.post('/api/v1/password', async (c) => {
      const session = c.get('session')
      if (!session) return apiError(c, 403, 'PRYV_ADMIN_FORBIDDEN', 'Only a logged-in account changes its own password.', 'Owners reset others\' with admin.users.set.')
      const body = await jsonBody(c)
      const epoch = await runAs(c.get('principal')!.actor, () => this.accounts.changeOwnPassword(session.account, body.current, body.password))
      const fresh = newSession(session.account, epoch, Date.now())
      setSession(c, fresh)
      return c.json(sessionReply(this.accounts.sessionPrincipal(session.account, epoch)!, fresh))
    })
    // Live updates for the app: an event whenever what the overview shows changes (an applied entry,
    // a member going up or down, a node catching up). Checked once a second; nothing is sent otherwise.
    // `?watch=rollout` (the releases page): also when the release's rollout moves on a member.
    app.get('/api/v1/events', (c) => streamSSE(c, async (stream) => {
      let last = ''
      const rollout = c.req.query('watch') === 'rollout'
      while (!stream.aborted && !stream.closed) {
        const s = this.node.status() as { revision: number, appliedOn: unknown, members: { name: string, role: string, alive: boolean, revision: number | null }[] }
        const snapshot = JSON.stringify({ revision: s.revision, appliedOn: s.appliedOn, members: s.members.map((m) => [m.name, m.role, m.alive, m.revision]), ...(rollout ? { rollouts: await this.releaseRollouts() } : {}) })
        if (snapshot !== last) {
          last = snapshot
          await stream.writeSSE({ event: 'status', data: snapshot })
        }
        await stream.sleep(1000)
      }
    }))
    app.post('/api/v1/ops/:method', async (c) => {
      const method = c.req.param('method')
      const params = await jsonBody(c)
      const handler = this.authorize(c, method, params)
      const principal = c.get('principal')!
      const signal = c.req.raw.signal
      const result = await runAs(principal.actor, () => handler(params, signal))
      if (!(result instanceof ControlStream)) return c.json({ result: result ?? null })
      return eventStream(c, result)
    })
    // The platform's users (the registry), searched and paged: `?q=&core=&after=&limit=` (at most 500).
    app.get('/api/v1/registry/users', (c) => {
      const limit = Number(c.req.query('limit') ?? USERS_PAGE_SIZE)
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_USERS_PAGE_SIZE) throw new OperatorError('PRYV_USAGE', `limit must be a whole number from 1 to ${MAX_USERS_PAGE_SIZE}.`, { exitCode: ExitCode.usage })
      return c.json(usersPage(this.node.replica.state.registryUsers.values(), { ...usersQuery(c), limit }))
    })
    // A release bundle (.tgz) as the raw request body: checked, unpacked and dry-run or applied by the
    // same operation as `release apply` (owner only); its progress and result come as events.
    app.post('/api/v1/releases/upload', async (c) => {
      const principal = c.get('principal')!
      if (!roleAllows(principal.role, 'owner')) throw new HttpError(403, new OperatorError('PRYV_ADMIN_FORBIDDEN', `Uploading a release needs the owner role; ${principal.actor} is ${principal.role}.`, { hint: 'Ask an owner for a role that allows it.', exitCode: ExitCode.conflict }))
      const length = Number(c.req.header('content-length') ?? 0)
      if (length > MAX_UPLOAD_BYTES) throw new HttpError(413, uploadTooLarge(MAX_UPLOAD_BYTES))
      const upload = await receiveUpload(c.req.raw.body, MAX_UPLOAD_BYTES).catch((err) => {
        throw err instanceof UploadTooLarge ? new HttpError(413, err) : err
      })
      const message = c.req.query('message')
      const params = { path: upload.file, dryRun: c.req.query('dryRun') === 'true', ...(message ? { message } : {}) }
      try {
        const result = await runAs(principal.actor, () => this.operations()['release.apply']!(params, c.req.raw.signal))
        return eventStream(c, result as ControlStream, upload.remove)
      } catch (err) {
        await upload.remove()
        throw err
      }
    })

    // --- The app ---
    app.get('/login', (c) => c.html(loginPage(page(c), { link: c.req.query('link') })))
    app.post('/login', async (c) => {
      const form = await c.req.parseBody()
      try {
        await login(c, () => this.accounts.login(form.name, form.password, source(c)))
        return c.redirect('/', 303)
      } catch (err) {
        if (!isOperatorError(err)) throw err
        return c.html(loginPage(page(c), { error: (err as OperatorError).message }), err instanceof TooManyAttempts ? 429 : 401)
      }
    })
    app.post('/login/link', async (c) => {
      const form = await c.req.parseBody()
      try {
        const { principal } = await login(c, () => this.accounts.redeemLink(form.link, source(c)))
        return c.redirect(principal.mustSetPassword ? '/password' : '/', 303)
      } catch (err) {
        if (!isOperatorError(err)) throw err
        return c.html(loginPage(page(c), { error: (err as OperatorError).message }), err instanceof TooManyAttempts ? 429 : 401)
      }
    })
    app.use('*', async (c, next) => {
      const principal = c.get('principal')
      if (!principal) return c.redirect('/login', 303)
      if (principal.mustSetPassword && !['/password', '/logout'].includes(c.req.path)) return c.redirect('/password', 303)
      return next()
    })
    app.post('/logout', async (c) => {
      const session = c.get('session')
      if (session) await runAs(c.get('principal')!.actor, () => this.accounts.endSessions(session.account))
      deleteCookie(c, cookieName, { path: '/', secure: https })
      return c.redirect('/login', 303)
    })
    app.get('/password', (c) => c.html(passwordPage(page(c), { mustSet: c.get('principal')!.mustSetPassword, done: c.req.query('done') !== undefined })))
    app.post('/password', async (c) => {
      const session = c.get('session')
      if (!session) return c.redirect('/login', 303)
      const form = await c.req.parseBody()
      const mustSet = c.get('principal')!.mustSetPassword
      try {
        const epoch = await runAs(c.get('principal')!.actor, () => this.accounts.changeOwnPassword(session.account, form.current, form.password))
        setSession(c, newSession(session.account, epoch, Date.now()))
        return c.redirect(mustSet ? '/' : '/password?done', 303)
      } catch (err) {
        if (!isOperatorError(err)) throw err
        return c.html(passwordPage(page(c), { mustSet, error: (err as OperatorError).message }), 400)
      }
    })
    app.get('/', (c) => c.html(overviewPage({ ...page(c), live: true }, this.node.status() as unknown as Parameters<typeof overviewPage>[1])))
    app.get('/users', (c) => {
      const state = this.node.replica.state
      const query = { ...usersQuery(c), limit: USERS_PAGE_SIZE }
      const cores = [...state.members.values()].map((m) => m.name).sort()
      return c.html(usersPageHtml(page(c), { ...usersPage(state.registryUsers.values(), query), query, cores, counts: Object.fromEntries(state.registryCounts) }))
    })
    app.get('/audit', (c) => c.html(auditPage(page(c), this.operationsAudit())))
    // Settings: the schema as a table with the platform value and every machine's overrides side by
    // side; a change is dry-run or applied through the same operation as `config set`.
    const settingsView = async (c: Context<Env>, extra: Partial<SettingsView> = {}): Promise<SettingsView> => {
      const call = (name: string, params: Record<string, unknown> = {}) => this.call(c, name, params) as Promise<any>
      const [schema, platform, history] = await Promise.all([call('settings.schema'), call('settings.get'), call('settings.history', { reports: false })])
      const names = [...this.node.replica.state.members.values()].map((m) => m.name)
      const machines = Object.fromEntries(await Promise.all(names.map(async (n) => [n, (await call('settings.get', { machine: n })).values] as const)))
      const principal = c.get('principal')!
      return { groups: describeSchemaJson(defineSchema(schema)).groups, platform: platform.values, machines, history: history.records, canChange: roleAllows(principal.role, 'operator'), ...extra }
    }
    // Members and invites: promote, demote, remove (owner); drain through the dns.weight setting and
    // invites (operator), through the same operations as the CLI.
    const membersView = async (c: Context<Env>, extra: Partial<MembersView> = {}): Promise<MembersView> => {
      const principal = c.get('principal')!
      const status = await this.call(c, 'status', {}) as { members: MembersView['members'] }
      const invites = await this.call(c, 'invite.list', {}) as MembersView['invites']
      const weights = await Promise.all(status.members.map(async (m) => {
        const got = await this.call(c, 'settings.get', { machine: m.name, effective: true }) as { values: Record<string, unknown> }
        return got.values['dns.weight']
      }))
      return { members: status.members.map((m, i) => ({ ...m, weight: weights[i] })), invites: [...invites].reverse(), canOperate: roleAllows(principal.role, 'operator'), canOwn: roleAllows(principal.role, 'owner'), ...extra }
    }
    app.get('/members', async (c) => c.html(membersPage(page(c), await membersView(c))))
    app.post('/members', async (c) => {
      const form = await c.req.parseBody()
      const field = (name: string): string => (typeof form[name] === 'string' ? form[name] as string : '')
      const name = field('name')
      let extra: Partial<MembersView> = {}
      try {
        switch (field('action')) {
          case 'invite': {
            const created = await this.call(c, 'invite.create', { role: field('role'), ttlMs: Math.round(Number(field('ttlHours')) * 3_600_000), uses: Number(field('uses')) }) as MembersView['created']
            extra = { created }
            break
          }
          case 'revoke':
            await this.call(c, 'invite.revoke', { id: field('id') })
            extra = { outcome: { done: `Invite ${field('id')} revoked.` } }
            break
          case 'drain':
          case 'undrain': {
            const drain = field('action') === 'drain'
            await this.call(c, 'settings.change', drain ? { machine: name, set: { 'dns.weight': 0 }, message: `drain ${name}` } : { machine: name, unset: ['dns.weight'], message: `restore ${name}` })
            extra = { outcome: { done: drain ? `${name} drained: it leaves the weighted service names.` : `${name} restored.` } }
            break
          }
          case 'promote':
          case 'demote':
            await this.call(c, 'members.role', { name, role: field('action') === 'promote' ? 'full' : 'observer' })
            extra = { outcome: { done: `${name} is now ${field('action') === 'promote' ? 'a full member' : 'an observer'}.` } }
            break
          case 'remove':
            await this.call(c, 'members.remove', { name })
            extra = { outcome: { done: `${name} removed.` } }
            break
          default:
            throw new OperatorError('PRYV_USAGE', 'Unknown action.', { exitCode: ExitCode.usage })
        }
      } catch (err) {
        if (!isOperatorError(err)) throw err
        extra = { outcome: { error: errorBody(err) as { code: string, message: string, hint?: string } } }
      }
      return c.html(membersPage(page(c), await membersView(c, extra)), extra.outcome?.error ? (err403(extra.outcome.error.code) ? 403 : 400) : 200)
    })
    // Services of every member; restart one (operator); follow one's logs live (the page's script
    // reads services.logs as server-sent events).
    const servicesView = async (c: Context<Env>, extra: Partial<ServicesView> = {}): Promise<ServicesView> => {
      const list = await this.call(c, 'services.list', {}) as { nodes: ServicesView['nodes'] }
      return { nodes: list.nodes, canOperate: roleAllows(c.get('principal')!.role, 'operator'), ...extra }
    }
    app.get('/services', async (c) => c.html(servicesPage(page(c), await servicesView(c))))
    app.post('/services', async (c) => {
      const form = await c.req.parseBody()
      const node = String(form.node ?? '')
      const service = String(form.service ?? '')
      let outcome: ServicesView['outcome']
      try {
        await this.call(c, 'services.restart', { node, service })
        outcome = { done: `${service} restarted on ${node}.` }
      } catch (err) {
        if (!isOperatorError(err)) throw err
        outcome = { error: errorBody(err) as { code: string, message: string } }
      }
      return c.html(servicesPage(page(c), await servicesView(c, { outcome })), outcome.error ? (err403(outcome.error.code) ? 403 : 400) : 200)
    })
    // DNS users (look up, set, remove, as `dns users`) and this node's answer counters.
    const dnsView = async (c: Context<Env>, extra: Partial<DnsView> = {}): Promise<DnsView> => {
      const [{ users }, counters] = await Promise.all([this.call(c, 'dns.users.get', {}) as Promise<{ users: Record<string, string> }>, this.call(c, 'dns.counters', {}) as Promise<DnsView['counters']>])
      const cores = [...this.node.replica.state.members.values()].map((m) => m.name).sort()
      return { users: Object.entries(users).sort(([a], [b]) => compareText(a, b)), cores, counters, canOperate: roleAllows(c.get('principal')!.role, 'operator'), ...extra }
    }
    app.get('/dns', async (c) => {
      const user = c.req.query('user')?.trim()
      let lookup: DnsView['lookup']
      if (user) {
        const found = await this.call(c, 'dns.users.get', { usernames: [user] }) as { users: Record<string, string> }
        lookup = { user, ...(Object.hasOwn(found.users, user) ? { core: found.users[user] } : {}) }
      }
      return c.html(dnsPage(page(c), await dnsView(c, { lookup })))
    })
    app.post('/dns', async (c) => {
      const form = await c.req.parseBody()
      const field = (name: string): string => (typeof form[name] === 'string' ? (form[name] as string).trim() : '')
      const user = field('user')
      let outcome: DnsView['outcome']
      try {
        if (field('action') === 'set') {
          await this.call(c, 'dns.users.set', { users: { [user]: field('core') } })
          outcome = { done: `${user} now points at ${field('core')}.` }
        } else if (field('action') === 'remove') {
          await this.call(c, 'dns.users.remove', { usernames: [user] })
          outcome = { done: `${user} removed.` }
        } else throw new OperatorError('PRYV_USAGE', 'Unknown action.', { exitCode: ExitCode.usage })
      } catch (err) {
        if (!isOperatorError(err)) throw err
        outcome = { error: errorBody(err) as { code: string, message: string, hint?: string } }
      }
      return c.html(dnsPage(page(c), await dnsView(c, { outcome })), outcome.error ? (err403(outcome.error.code) ? 403 : 400) : 200)
    })
    // Releases: the one in force, its history and every member's progress (refreshed while it rolls
    // out); rollback (owner), as `release rollback`.
    const releasesView = async (c: Context<Env>, extra: Partial<ReleasesView> = {}): Promise<ReleasesView> => {
      const status = await this.call(c, 'release.status', {}) as ReleasesView['status']
      return { status, rollouts: await this.releaseRollouts(), canOwn: roleAllows(c.get('principal')!.role, 'owner'), ...extra }
    }
    const releasesHtml = (c: Context<Env>, view: ReleasesView, code: 200 | 400 | 403 | 409 = 200) => c.html(releasesPage({ ...page(c), live: 'rollout' }, view), code)
    app.get('/releases', async (c) => releasesHtml(c, await releasesView(c)))
    app.post('/releases', async (c) => {
      const form = await c.req.parseBody()
      let outcome: ReleasesView['outcome']
      let code: 200 | 400 | 403 | 409 = 200
      try {
        if (form.action !== 'rollback') throw new OperatorError('PRYV_USAGE', 'Unknown action.', { exitCode: ExitCode.usage })
        const done = await this.call(c, 'release.rollback', {}) as { revision: number, from: string, to: string }
        outcome = { done: `Rolled back from ${done.from} to ${done.to} (revision ${done.revision}).` }
      } catch (err) {
        if (!isOperatorError(err)) throw err
        outcome = { error: errorBody(err) as { code: string, message: string, hint?: string } }
        code = err403(outcome.error!.code) ? 403 : statusOf((err as OperatorError).exitCode) === 409 ? 409 : 400
      }
      return releasesHtml(c, await releasesView(c, { outcome }), code)
    })
    app.get('/services/logs', (c) => c.html(logsPage(page(c), c.req.query('node') ?? '', c.req.query('service') ?? '')))
    // `?explain=KEY&on=NODE` explains one key; `?from=R&to=R&layer=NODE` compares two revisions.
    app.get('/settings', async (c) => {
      const q = (name: string) => c.req.query(name) || undefined
      const extra: { -readonly [K in keyof SettingsView]?: SettingsView[K] } = {}
      try {
        const key = q('explain')
        if (key) extra.explain = await this.call(c, 'settings.get', { key, explain: true, ...(q('on') ? { machine: q('on') } : {}) }) as SettingsExplain
        const from = q('from')
        if (from !== undefined) extra.diff = await this.call(c, 'settings.diff', { from: revisionParam(from), ...(q('to') ? { to: revisionParam(q('to')!) } : {}), ...(q('layer') ? { machine: q('layer') } : {}) }) as SettingsDiff
      } catch (err) {
        if (!isOperatorError(err)) throw err
        extra.outcome = { error: errorBody(err) as { code: string, message: string, hint?: string } }
      }
      return c.html(settingsPage(page(c), await settingsView(c, extra)), extra.outcome?.error ? 400 : 200)
    })
    app.post('/settings', async (c) => {
      const form = await c.req.parseBody()
      const field = (name: string): string => (typeof form[name] === 'string' ? form[name] as string : '')
      const values = { key: field('key'), value: field('value'), target: field('target'), message: field('message') }
      const rollback = field('action') === 'rollback'
      const dryRun = !rollback && field('action') !== 'apply'
      let outcome: SettingsView['outcome']
      try {
        const target = values.target ? { machine: values.target } : {}
        const out = await (rollback
          ? this.call(c, 'settings.rollback', { revision: revisionParam(field('revision')), ...target })
          : this.call(c, 'settings.change', { set: { [values.key]: values.value }, input: 'text', ...target, ...(values.message ? { message: values.message } : {}), dryRun })) as { revision: number, nodes: DryRun['nodes'] }
        outcome = dryRun ? { dryRun: { nodes: out.nodes } } : { applied: out.revision }
      } catch (err) {
        if (!isOperatorError(err)) throw err
        outcome = { error: errorBody(err) as { code: string, message: string, hint?: string } }
      }
      return c.html(settingsPage(page(c), await settingsView(c, { ...(rollback ? {} : { form: values }), outcome })), outcome.error ? (err403(outcome.error.code) ? 403 : 400) : 200)
    })

    app.notFound((c) => apiError(c, 404, 'PRYV_ADMIN_NOT_FOUND', `Nothing is served at ${c.req.path}.`, 'See /api/v1/openapi.json for the API.'))
    app.onError((err, c) => {
      if (isOperatorError(err)) {
        const e = err as OperatorError
        return c.json({ error: errorBody(e) }, err instanceof HttpError ? err.status : err instanceof TooManyAttempts ? 429 : e.code === 'PRYV_ADMIN_LOGIN_FAILED' || e.code === 'PRYV_ADMIN_LINK_INVALID' ? 401 : statusOf(e.exitCode))
      }
      this.node.ctx.log.error({ err: (err as Error).message, path: c.req.path }, 'admin request failed')
      return c.json({ error: { code: 'PRYV_NODE_INTERNAL', message: 'The node failed to answer; see its log.' } }, 500)
    })
    return app
  }

  /**
   * The rollout of the release in force, wave by wave; when it is a rollback, also the rollout it
   * stopped (which wave's health gate failed).
   */
  private async releaseRollouts(): Promise<ReleaseRollout[]> {
    const history = [...this.node.replica.state.releaseHistory.values()]
    const current = history.at(-1)
    if (!current) return []
    const reports = await this.node.settings.allReports()
    const budget = this.node.restartBudget ?? 1
    const shown = current.kind === 'rollback' && history.length > 1 ? [history.at(-2)!, current] : [current]
    return shown.reverse().map((e, i, all) => {
      const until = i === 0 ? undefined : all[i - 1]!.revision
      return { revision: e.revision, kind: e.kind, version: e.version, automatic: e.automatic === true, waves: rolloutWaves(e.revision, until, reports, budget) }
    })
  }

  private operationsAudit() {
    return [...this.node.replica.state.audit.values()].slice(-200).map((r) => ({ ...r, at: new Date(r.at).toISOString() }))
  }

  /** Runs an operation for a page, as its caller, with the same role check as the API. */
  private async call(c: Context<Env>, method: string, params: Record<string, unknown>): Promise<unknown> {
    const handler = this.authorize(c, method, params)
    return runAs(c.get('principal')!.actor, () => handler(params, c.req.raw.signal))
  }

  /** The handler of `method` when the caller's role allows it; throws 403/404 as OperatorErrors otherwise. */
  private authorize(c: Context<Env>, method: string, params: Record<string, unknown>): ControlHandler {
    const principal = c.get('principal')!
    const operations = this.operations()
    const needed = requiredRole(method, params)
    if (!needed || !Object.hasOwn(operations, method)) throw new HttpError(404, new OperatorError('PRYV_ADMIN_UNKNOWN_OPERATION', `The API has no operation "${method}".`, { hint: 'See /api/v1/openapi.json.', exitCode: ExitCode.usage }))
    if (principal.mustSetPassword) throw new HttpError(403, new OperatorError('PRYV_ADMIN_PASSWORD_REQUIRED', 'Choose a password first.', { hint: 'Choose one at /password.', exitCode: ExitCode.usage }))
    if (!roleAllows(principal.role, needed)) throw new HttpError(403, new OperatorError('PRYV_ADMIN_FORBIDDEN', `"${method}" needs the ${needed} role; ${principal.actor} is ${principal.role}.`, { hint: 'Ask an owner for a role that allows it.', exitCode: ExitCode.conflict }))
    return operations[method]!
  }
}

/** An OperatorError with the HTTP status to answer it with. */
class HttpError extends OperatorError {
  constructor(readonly status: 401 | 403 | 404 | 413, err: OperatorError) {
    super(err.code, err.message, { hint: err.hint, exitCode: err.exitCode })
  }
}

/** The search of the users page and API (the page size aside). */
function usersQuery(c: Context<Env>): Omit<UsersQuery, 'limit'> {
  const q = c.req.query('q')?.trim()
  const core = c.req.query('core')?.trim()
  const after = c.req.query('after')
  return { ...(q ? { q } : {}), ...(core ? { core } : {}), ...(after ? { after } : {}) }
}

/** A revision number typed in a form; the operation checks it exists. */
function revisionParam(text: string): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new OperatorError('PRYV_USAGE', `"${text}" is not a revision number.`, { hint: 'Give a revision from the history below.', exitCode: ExitCode.usage })
  return n
}

function err403(code: string): boolean {
  return code === 'PRYV_ADMIN_FORBIDDEN'
}

function statusOf(exitCode: number | undefined): 400 | 409 | 500 | 503 {
  switch (exitCode) {
    case ExitCode.usage:
    case ExitCode.invalidInput:
      return 400
    case ExitCode.conflict:
    case ExitCode.rolledBack:
      return 409
    case ExitCode.unreachable:
    case ExitCode.notRunning:
      return 503
    default:
      return 500
  }
}

function errorBody(err: unknown): Record<string, unknown> {
  if (!isOperatorError(err)) return { code: 'PRYV_NODE_INTERNAL', message: 'The node failed to answer; see its log.' }
  const e = err as OperatorError
  return { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) }
}

function apiError(c: Context<Env>, status: 401 | 403 | 404, code: string, message: string, hint: string): Response {
  return c.json({ error: { code, message, hint } }, status)
}

/** The request's JSON object (empty when there is no body); 400 for anything else. */
async function jsonBody(c: Context<Env>): Promise<Record<string, unknown>> {
  const text = await c.req.text()
  if (text.length > MAX_BODY_BYTES) throw new OperatorError('PRYV_ADMIN_REQUEST_TOO_LARGE', 'The request body is larger than 1 MiB.', { exitCode: ExitCode.invalidInput })
  if (text.trim() === '') return {}
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new OperatorError('PRYV_ADMIN_MALFORMED', 'The request body is not valid JSON.', { hint: 'Send a JSON object with Content-Type: application/json.', exitCode: ExitCode.invalidInput })
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new OperatorError('PRYV_ADMIN_MALFORMED', 'The request body must be a JSON object.', { exitCode: ExitCode.invalidInput })
  return body as Record<string, unknown>
}
