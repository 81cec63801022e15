import type { ControlHandler } from '../control/server.js'
import { ExitCode, OperatorError } from '../errors.js'
import { type AdminCommand, isAccountName, isAdminRole } from '../state/admin.js'
import type { AdminRole, PlatformState } from '../state/types.js'
import { FailureLimiter } from './rate-limit.js'
import { dummyPasswordHash, hashPassword, hashSecret, newId, newSecret, PASSWORD_MAX, PASSWORD_MIN, secretMatches, splitCredential, verifyPassword } from './secrets.js'

/** Who is calling the admin API. */
export interface Principal {
  /** `admin:<name>` or `token:<id>`: recorded as the actor of the changes it makes */
  readonly actor: string
  readonly role: AdminRole
  /** An account that logged in with a link and has no password yet may only set one. */
  readonly mustSetPassword: boolean
}

export interface AccountsDeps {
  readonly state: () => PlatformState
  readonly submit: (command: AdminCommand) => Promise<unknown>
  /** The admin app's base URL on this node (for login links); undefined when it is not served. */
  readonly baseUrl: () => string | undefined
  readonly now?: () => number
}

export const TOKEN_PREFIX = 'pryv_'
export const LINK_TTL_MS = 15 * 60_000
const LOGIN_WINDOW_MS = 15 * 60_000

/** Thrown for a login that fails: one answer whether the account exists or not. */
export function loginFailed(): OperatorError {
  return new OperatorError('PRYV_ADMIN_LOGIN_FAILED', 'Wrong account name or password.', { hint: 'Ask an owner to reset it (`pryv-node admin users passwd`), or log in with a link from `pryv-node admin login-link`.', exitCode: ExitCode.usage })
}

export class TooManyAttempts extends OperatorError {
  constructor(readonly retryAfterMs: number) {
    super('PRYV_ADMIN_RATE_LIMITED', 'Too many failed logins.', { hint: `Try again in ${Math.ceil(retryAfterMs / 1000)} s.`, exitCode: ExitCode.conflict })
  }
}

/**
 * Admin accounts, API tokens, login links and the audit trail: the operations (for the control
 * socket and the API alike) and the checks of credentials. All records live in the replicated state,
 * so any node logs anyone in.
 */
export class AdminAccounts {
  private readonly perAccount = new FailureLimiter(5, LOGIN_WINDOW_MS)
  private readonly perSource = new FailureLimiter(20, LOGIN_WINDOW_MS)
  private readonly now: () => number

  constructor(private readonly deps: AccountsDeps) {
    this.now = deps.now ?? Date.now
  }

  handlers(): Record<string, ControlHandler> {
    return {
      'admin.users.list': async () => this.listUsers(),
      'admin.users.add': async (p) => this.addUser(p),
      'admin.users.set': async (p) => this.setUser(p),
      'admin.users.remove': async (p) => this.deps.submit({ kind: 'admin.account.remove', name: accountName(p.name) }),
      'admin.tokens.list': async () => this.listTokens(),
      'admin.tokens.create': async (p) => this.createToken(p),
      'admin.tokens.revoke': async (p) => this.deps.submit({ kind: 'admin.token.revoke', id: requiredString(p.id, 'The token id') }),
      'admin.audit': async (p) => this.audit(p),
      'admin.login-link': async (p) => this.createLoginLink(accountName(p.account ?? 'admin'))
    }
  }

  private listUsers(): unknown[] {
    return [...this.deps.state().adminAccounts.values()].map((a) => ({ name: a.name, role: a.role, password: a.passwordHash !== undefined, createdAt: new Date(a.createdAt).toISOString() }))
  }

  private async addUser(p: Record<string, unknown>): Promise<unknown> {
    const name = accountName(p.name)
    const role = adminRole(p.role ?? 'viewer')
    if (this.deps.state().adminAccounts.has(name)) throw new OperatorError('PRYV_ADMIN_ACCOUNT_EXISTS', `An admin account is already named "${name}".`, { hint: 'Choose another name, or change it with `pryv-node admin users passwd` / `role`.', exitCode: ExitCode.conflict })
    const generated = p.password === undefined ? newSecret().slice(0, 20) : undefined
    const password = generated ?? checkPassword(p.password)
    await this.deps.submit({ kind: 'admin.account.set', name, role, passwordHash: await hashPassword(password) })
    return { name, role, ...(generated ? { password: generated } : {}) }
  }

  private async setUser(p: Record<string, unknown>): Promise<unknown> {
    const name = accountName(p.name)
    const role = p.role === undefined ? undefined : adminRole(p.role)
    if (!this.deps.state().adminAccounts.has(name)) throw unknownAccount(name)
    const generated = p.password === undefined && role === undefined ? newSecret().slice(0, 20) : undefined
    const password = generated ?? (p.password === undefined ? undefined : checkPassword(p.password))
    await this.deps.submit({ kind: 'admin.account.set', name, ...(role ? { role } : {}), ...(password ? { passwordHash: await hashPassword(password) } : {}) })
    return { name, ...(role ? { role } : {}), ...(generated ? { password: generated } : {}) }
  }

  private listTokens(): unknown[] {
    const now = this.now()
    return [...this.deps.state().adminTokens.values()].map((t) => ({
      id: t.id, label: t.label, role: t.role, createdBy: t.createdBy,
      createdAt: new Date(t.createdAt).toISOString(), expiresAt: new Date(t.expiresAt).toISOString(),
      status: t.revoked ? 'revoked' : t.expiresAt <= now ? 'expired' : 'active'
    }))
  }

  private async createToken(p: Record<string, unknown>): Promise<unknown> {
    const role = adminRole(p.role ?? 'viewer')
    const ttlMs = Number(p.ttlMs ?? 30 * 86_400_000)
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000) throw new OperatorError('PRYV_USAGE', 'A token\'s lifetime must be at least one second.', { exitCode: ExitCode.usage })
    const label = p.label === undefined ? '' : String(p.label).slice(0, 200)
    const id = newId()
    const secret = newSecret()
    const expiresAt = this.now() + ttlMs
    await this.deps.submit({ kind: 'admin.token.create', id, label, role, secretHash: hashSecret(secret), expiresAt })
    return { id, role, label, expiresAt: new Date(expiresAt).toISOString(), token: `${TOKEN_PREFIX}${id}.${secret}` }
  }

  private audit(p: Record<string, unknown>): unknown[] {
    const limit = Math.min(Math.max(Number(p.limit ?? 100) || 100, 1), 2000)
    return [...this.deps.state().audit.values()].slice(-limit).map((r) => ({ ...r, at: new Date(r.at).toISOString() }))
  }

  /** A one-time URL that logs in as `account` (created as an owner if it does not exist). */
  async createLoginLink(account: string): Promise<{ url: string, account: string, expiresAt: string }> {
    const base = this.deps.baseUrl()
    if (!base) throw new OperatorError('PRYV_ADMIN_DISABLED', 'This node does not serve the admin app (it was started with --admin none).', { hint: 'Start it with --admin 127.0.0.1:7480, or ask another member for the link.', exitCode: ExitCode.conflict })
    const id = newId()
    const secret = newSecret()
    const expiresAt = this.now() + LINK_TTL_MS
    await this.deps.submit({ kind: 'admin.link.create', id, secretHash: hashSecret(secret), account, expiresAt })
    return { url: `${base}/login?link=${id}.${secret}`, account, expiresAt: new Date(expiresAt).toISOString() }
  }

  /** Checks a password login; throws loginFailed() or TooManyAttempts. */
  async login(name: unknown, password: unknown, source: string): Promise<{ account: string, epoch: number }> {
    const now = this.now()
    const accountKey = `account:${String(name).slice(0, 64)}`
    const wait = Math.max(this.perAccount.retryAfter(accountKey, now), this.perSource.retryAfter(`source:${source}`, now))
    if (wait > 0) throw new TooManyAttempts(wait)
    const account = typeof name === 'string' ? this.deps.state().adminAccounts.get(name) : undefined
    const ok = typeof password === 'string' && password.length <= PASSWORD_MAX && await verifyPassword(password, account?.passwordHash ?? await dummyPasswordHash())
    if (!account?.passwordHash || !ok) {
      this.perAccount.fail(accountKey, now)
      this.perSource.fail(`source:${source}`, now)
      throw loginFailed()
    }
    return { account: account.name, epoch: account.sessionEpoch }
  }

  /** Consumes a one-time login link through the log (so it works once across the platform). */
  async redeemLink(text: unknown, source: string): Promise<{ account: string, epoch: number }> {
    const now = this.now()
    const wait = this.perSource.retryAfter(`source:${source}`, now)
    if (wait > 0) throw new TooManyAttempts(wait)
    const parts = typeof text === 'string' ? splitCredential(text, '') : undefined
    const link = parts ? this.deps.state().adminLinks.get(parts.id) : undefined
    if (!parts || !link || !secretMatches(parts.secret, link.secretHash)) {
      this.perSource.fail(`source:${source}`, now)
      throw invalidLink()
    }
    try {
      const out = await this.deps.submit({ kind: 'admin.link.use', id: parts.id }) as { value: { account: string, sessionEpoch: number } }
      return { account: out.value.account, epoch: out.value.sessionEpoch }
    } catch (err) {
      if ((err as OperatorError).code === 'PRYV_ADMIN_LINK_INVALID') throw invalidLink()
      throw err
    }
  }

  /** The principal of a live session, or undefined when its account is gone or its epoch is over. */
  sessionPrincipal(account: string, epoch: number): Principal | undefined {
    const a = this.deps.state().adminAccounts.get(account)
    if (!a || a.sessionEpoch !== epoch) return undefined
    return { actor: `admin:${a.name}`, role: a.role, mustSetPassword: a.passwordHash === undefined }
  }

  /** The principal of `Authorization: Bearer pryv_<id>.<secret>`, or undefined (unknown, revoked, expired). */
  tokenPrincipal(bearer: string): Principal | undefined {
    const parts = splitCredential(bearer, TOKEN_PREFIX)
    const token = parts ? this.deps.state().adminTokens.get(parts.id) : undefined
    if (!parts || !token || token.revoked || token.expiresAt <= this.now() || !secretMatches(parts.secret, token.secretHash)) return undefined
    return { actor: `token:${token.id}`, role: token.role, mustSetPassword: false }
  }

  /** An account changes its own password (the current one is needed unless it has none yet). */
  async changeOwnPassword(account: string, current: unknown, next: unknown): Promise<number> {
    const a = this.deps.state().adminAccounts.get(account)
    if (!a) throw unknownAccount(account)
    if (a.passwordHash && !(typeof current === 'string' && await verifyPassword(current, a.passwordHash))) {
      throw new OperatorError('PRYV_ADMIN_WRONG_PASSWORD', 'The current password is wrong.', { exitCode: ExitCode.usage })
    }
    await this.deps.submit({ kind: 'admin.account.set', name: account, passwordHash: await hashPassword(checkPassword(next)) })
    return this.deps.state().adminAccounts.get(account)?.sessionEpoch ?? 0
  }

  async endSessions(account: string): Promise<void> {
    await this.deps.submit({ kind: 'admin.sessions.end', name: account })
  }
}

function invalidLink(): OperatorError {
  return new OperatorError('PRYV_ADMIN_LINK_INVALID', 'This login link is not valid: unknown, already used or expired.', { hint: 'Print a new one with `pryv-node admin login-link` on a member.', exitCode: ExitCode.conflict })
}

function unknownAccount(name: string): OperatorError {
  return new OperatorError('PRYV_ADMIN_UNKNOWN_ACCOUNT', `No admin account is named "${name}".`, { hint: 'See the accounts with `pryv-node admin users list`.', exitCode: ExitCode.conflict })
}

function accountName(v: unknown): string {
  if (!isAccountName(v)) throw new OperatorError('PRYV_USAGE', `"${String(v)}" is not a valid account name.`, { hint: 'Use 1 to 64 lowercase letters, digits, dots, dashes or underscores, starting with a letter or digit.', exitCode: ExitCode.usage })
  return v
}

function adminRole(v: unknown): AdminRole {
  if (!isAdminRole(v)) throw new OperatorError('PRYV_USAGE', `Unknown role "${String(v)}".`, { hint: 'Use viewer, operator or owner.', exitCode: ExitCode.usage })
  return v
}

function requiredString(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new OperatorError('PRYV_USAGE', `${what} is missing.`, { exitCode: ExitCode.usage })
  return v
}

function checkPassword(v: unknown): string {
  if (typeof v !== 'string' || v.length < PASSWORD_MIN || v.length > PASSWORD_MAX) {
    throw new OperatorError('PRYV_ADMIN_WEAK_PASSWORD', `A password must have ${PASSWORD_MIN} to ${PASSWORD_MAX} characters.`, { hint: 'Choose a longer one (a passphrase of a few words works well).', exitCode: ExitCode.invalidInput })
  }
  return v
}
