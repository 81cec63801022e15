/**
 * Admin accounts, API tokens, one-time login links and the audit trail (issue 13): their commands,
 * how they are checked and applied. Deterministic like the rest of the machine: times come from the
 * command (`at`), never from a clock. Secrets never enter the log, only their hashes.
 */

import type { ApplyOutcome, Refusal, StateChange } from './machine.js'
import { type AdminRole, type AuditRecord, type PlatformState, settingsHistoryKey } from './types.js'

export type AdminCommand =
  /** Creates an account (role required) or changes its role and/or password; a new password ends its sessions. */
  | { kind: 'admin.account.set', name: string, role?: AdminRole, passwordHash?: string }
  | { kind: 'admin.account.remove', name: string }
  /** Ends every session of the account, on every node (logout). */
  | { kind: 'admin.sessions.end', name: string }
  | { kind: 'admin.token.create', id: string, label: string, role: AdminRole, secretHash: string, expiresAt: number }
  | { kind: 'admin.token.revoke', id: string }
  | { kind: 'admin.link.create', id: string, secretHash: string, account: string, expiresAt: number }
  /** Consumes a login link (once, before it expires); its account is created as an owner if it does not exist. */
  | { kind: 'admin.link.use', id: string }

export const ADMIN_COMMAND_KINDS: ReadonlySet<string> = new Set([
  'admin.account.set', 'admin.account.remove', 'admin.sessions.end', 'admin.token.create', 'admin.token.revoke', 'admin.link.create', 'admin.link.use'
])

type Stamped<C> = C & { at: number, author: string, actor?: string }

export const ADMIN_ROLES: readonly AdminRole[] = ['viewer', 'operator', 'owner']
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/
const ID = /^[A-Za-z0-9_-]{8,64}$/
const HASH = /^[A-Za-z0-9$+/=._-]{16,512}$/

export function isAccountName(v: unknown): v is string {
  return typeof v === 'string' && ACCOUNT_NAME.test(v)
}

export function isAdminRole(v: unknown): v is AdminRole {
  return typeof v === 'string' && (ADMIN_ROLES as readonly string[]).includes(v)
}

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isId = (v: unknown): v is string => typeof v === 'string' && ID.test(v)
const isHash = (v: unknown): v is string => typeof v === 'string' && HASH.test(v)

/** The shape of an admin command from outside; returns what is wrong, or undefined. */
export function adminCommandProblem(c: Record<string, unknown>): string | undefined {
  switch (c.kind) {
    case 'admin.account.set':
      if (!isAccountName(c.name)) return 'admin.account.set needs a valid account name'
      if (c.role !== undefined && !isAdminRole(c.role)) return 'admin.account.set role must be viewer, operator or owner'
      if (c.passwordHash !== undefined && !isHash(c.passwordHash)) return 'admin.account.set passwordHash is malformed'
      return undefined
    case 'admin.account.remove':
    case 'admin.sessions.end':
      return isAccountName(c.name) ? undefined : `${c.kind} needs a valid account name`
    case 'admin.token.create':
      if (!isId(c.id) || !isHash(c.secretHash) || !isAdminRole(c.role) || !isTime(c.expiresAt)) return 'admin.token.create needs id, secretHash, role and expiresAt'
      return typeof c.label === 'string' && c.label.length <= 200 ? undefined : 'admin.token.create label must be a string of at most 200 characters'
    case 'admin.token.revoke':
    case 'admin.link.use':
      return isId(c.id) ? undefined : `${c.kind} needs an id`
    case 'admin.link.create':
      return isId(c.id) && isHash(c.secretHash) && isAccountName(c.account) && isTime(c.expiresAt) ? undefined : 'admin.link.create needs id, secretHash, account and expiresAt'
    default:
      return `unknown admin command ${String(c.kind)}`
  }
}

const refusal = (code: string, message: string): Refusal => ({ ok: false, code, message })

function owners(state: PlatformState): number {
  return [...state.adminAccounts.values()].filter((a) => a.role === 'owner').length
}

export function checkAdminCommand(state: PlatformState, cmd: Stamped<AdminCommand>): Refusal | undefined {
  switch (cmd.kind) {
    case 'admin.account.set': {
      const account = state.adminAccounts.get(cmd.name)
      if (!account && cmd.role === undefined) return refusal('PRYV_ADMIN_UNKNOWN_ACCOUNT', `no admin account is named "${cmd.name}"`)
      if (account?.role === 'owner' && cmd.role !== undefined && cmd.role !== 'owner' && owners(state) === 1) {
        return refusal('PRYV_ADMIN_LAST_OWNER', `"${cmd.name}" is the last owner: make another account owner first`)
      }
      return undefined
    }
    case 'admin.account.remove': {
      const account = state.adminAccounts.get(cmd.name)
      if (!account) return refusal('PRYV_ADMIN_UNKNOWN_ACCOUNT', `no admin account is named "${cmd.name}"`)
      if (account.role === 'owner' && owners(state) === 1) return refusal('PRYV_ADMIN_LAST_OWNER', `"${cmd.name}" is the last owner: make another account owner first`)
      return undefined
    }
    case 'admin.sessions.end':
      return state.adminAccounts.has(cmd.name) ? undefined : refusal('PRYV_ADMIN_UNKNOWN_ACCOUNT', `no admin account is named "${cmd.name}"`)
    case 'admin.token.create':
      return state.adminTokens.has(cmd.id) ? refusal('PRYV_ADMIN_TOKEN_EXISTS', 'a token with this id exists') : undefined
    case 'admin.token.revoke':
      return state.adminTokens.has(cmd.id) ? undefined : refusal('PRYV_ADMIN_TOKEN_UNKNOWN', `no API token has the id "${cmd.id}"`)
    case 'admin.link.create':
      return state.adminLinks.has(cmd.id) ? refusal('PRYV_ADMIN_LINK_EXISTS', 'a login link with this id exists') : undefined
    case 'admin.link.use': {
      const link = state.adminLinks.get(cmd.id)
      // One answer for unknown, used and expired links: a link is a secret, its state is not told.
      if (!link || link.used || link.expiresAt <= cmd.at) return refusal('PRYV_ADMIN_LINK_INVALID', 'this login link is not valid (unknown, already used or expired)')
      return undefined
    }
  }
}

export function applyAdminCommand(state: PlatformState, cmd: Stamped<AdminCommand>): ApplyOutcome {
  switch (cmd.kind) {
    case 'admin.account.set': {
      const before = state.adminAccounts.get(cmd.name)
      const passwordChanged = cmd.passwordHash !== undefined
      state.adminAccounts.set(cmd.name, {
        name: cmd.name,
        role: cmd.role ?? before!.role,
        createdAt: before?.createdAt ?? cmd.at,
        sessionEpoch: (before?.sessionEpoch ?? 0) + (before && passwordChanged ? 1 : 0),
        ...(passwordChanged ? { passwordHash: cmd.passwordHash } : before?.passwordHash ? { passwordHash: before.passwordHash } : {})
      })
      return { result: { ok: true, value: { name: cmd.name, created: !before } }, changes: [{ type: 'adminAccount', id: cmd.name }] }
    }
    case 'admin.account.remove':
      state.adminAccounts.delete(cmd.name)
      return { result: { ok: true }, changes: [{ type: 'adminAccount', id: cmd.name }] }
    case 'admin.sessions.end': {
      const account = state.adminAccounts.get(cmd.name)!
      state.adminAccounts.set(cmd.name, { ...account, sessionEpoch: account.sessionEpoch + 1 })
      return { result: { ok: true }, changes: [{ type: 'adminAccount', id: cmd.name }] }
    }
    case 'admin.token.create':
      state.adminTokens.set(cmd.id, { id: cmd.id, label: cmd.label, role: cmd.role, secretHash: cmd.secretHash, createdAt: cmd.at, createdBy: cmd.actor ?? 'local', expiresAt: cmd.expiresAt, revoked: false })
      return { result: { ok: true, value: { id: cmd.id } }, changes: [{ type: 'adminToken', id: cmd.id }] }
    case 'admin.token.revoke': {
      const token = state.adminTokens.get(cmd.id)!
      state.adminTokens.set(cmd.id, { ...token, revoked: true })
      return { result: { ok: true }, changes: [{ type: 'adminToken', id: cmd.id }] }
    }
    case 'admin.link.create': {
      const changes = pruneLinks(state, cmd.at)
      state.adminLinks.set(cmd.id, { id: cmd.id, secretHash: cmd.secretHash, account: cmd.account, expiresAt: cmd.expiresAt, used: false })
      return { result: { ok: true }, changes: [...changes, { type: 'adminLink', id: cmd.id }] }
    }
    case 'admin.link.use': {
      const link = state.adminLinks.get(cmd.id)!
      state.adminLinks.set(cmd.id, { ...link, used: true })
      const changes: StateChange[] = [{ type: 'adminLink', id: cmd.id }]
      let account = state.adminAccounts.get(link.account)
      if (!account) {
        account = { name: link.account, role: 'owner', sessionEpoch: 0, createdAt: cmd.at }
        state.adminAccounts.set(account.name, account)
        changes.push({ type: 'adminAccount', id: account.name })
      }
      return { result: { ok: true, value: { account: account.name, role: account.role, sessionEpoch: account.sessionEpoch } }, changes }
    }
  }
}

/** Used and expired links are dropped whenever a link is created, by the entry's time. */
function pruneLinks(state: PlatformState, at: number): StateChange[] {
  const changes: StateChange[] = []
  for (const [id, link] of state.adminLinks) {
    if (link.used || link.expiresAt <= at) {
      state.adminLinks.delete(id)
      changes.push({ type: 'adminLink', id })
    }
  }
  return changes
}

export const AUDIT_KEPT = 2000

/** Automatic or read-only commands: not changes an operator made. */
const NOT_AUDITED = new Set(['read.barrier', 'member.addresses'])

type AnyStamped = { kind: string, at: number, author: string, actor?: string, origin?: string } & Record<string, unknown>

/**
 * Records an applied command in the audit trail (called after it is applied, before the revision
 * advances). Keeps the last AUDIT_KEPT records.
 */
export function recordAudit(state: PlatformState, cmd: AnyStamped, ok: boolean): StateChange[] {
  if (!ok || NOT_AUDITED.has(cmd.kind)) return []
  const revision = state.revision + 1
  const id = settingsHistoryKey(revision)
  const node = typeof cmd.origin === 'string' ? cmd.origin : (state.members.get(cmd.author)?.name ?? cmd.author)
  const record: AuditRecord = { revision, at: cmd.at, kind: cmd.kind, actor: cmd.actor ?? defaultActor(cmd), node, summary: summarize(cmd) }
  state.audit.set(id, record)
  const changes: StateChange[] = [{ type: 'audit', id }]
  for (const key of state.audit.keys()) {
    if (state.audit.size <= AUDIT_KEPT) break
    state.audit.delete(key)
    changes.push({ type: 'audit', id: key })
  }
  return changes
}

function defaultActor(cmd: AnyStamped): string {
  if (cmd.kind === 'member.join') return `invite:${String(cmd.inviteId)}`
  if (cmd.kind === 'release.rollback' && cmd.automatic === true) return 'health-gate'
  return 'local'
}

/** What changed, in a few words, never with a secret or a value (settings values may be secrets). */
function summarize(c: AnyStamped): string {
  const list = (v: unknown): string => (Array.isArray(v) ? v.map(String).join(', ') : '')
  switch (c.kind) {
    case 'platform.create': return `created platform ${String(c.domain)}`
    case 'member.join': return `${String((c.member as { name?: string })?.name)} joined`
    case 'member.role': return `${String(c.peerId)} became ${String(c.role)}`
    case 'member.remove': return `removed member ${String(c.peerId)}`
    case 'invite.create': return `invite ${String(c.id)} (${String(c.role)}, ${String(c.uses)} use(s))`
    case 'invite.revoke': return `revoked invite ${String(c.id)}`
    case 'dns.users.set': return `set DNS users ${Object.keys((c.users as Record<string, string>) ?? {}).slice(0, 10).join(', ')}`
    case 'dns.users.remove': return `removed DNS users ${list((c.usernames as string[])?.slice(0, 10))}`
    case 'acme.set': case 'acme.remove': return `${String(c.name)}`
    case 'settings.change': {
      const target = c.target as { kind: string, nodeId?: string }
      const keys = [...Object.keys((c.set as Record<string, unknown>) ?? {}), ...((c.unset as string[]) ?? [])]
      return `${target.kind === 'machine' ? `machine ${target.nodeId}` : 'platform'}: ${keys.join(', ')}${c.message ? ` (${String(c.message)})` : ''}`
    }
    case 'release.apply': return `release ${String((c.release as { version?: string })?.version)}${c.message ? ` (${String(c.message)})` : ''}`
    case 'release.rollback': return `rollback${c.message ? ` (${String(c.message)})` : ''}`
    case 'admin.account.set': return `account ${String(c.name)}${c.role ? ` role ${String(c.role)}` : ''}${c.passwordHash ? ' password set' : ''}`
    case 'admin.account.remove': return `removed account ${String(c.name)}`
    case 'admin.sessions.end': return `ended the sessions of ${String(c.name)}`
    case 'admin.token.create': return `API token ${String(c.id)} (${String(c.role)})`
    case 'admin.token.revoke': return `revoked API token ${String(c.id)}`
    case 'admin.link.create': return `login link for ${String(c.account)}`
    case 'admin.link.use': return `login link ${String(c.id)} used`
    default: return c.kind
  }
}
