/**
 * The user registry's part of the state machine (Pryv's `register`, issue 16): users and the core that
 * hosts them, unique account fields, reservations, invitations and `access` requests. Every check is
 * made here, from the state and the command only, so that two nodes can never register the same name:
 * the writer set orders the commands and every node reaches the same verdict.
 */
import type { StateChange } from './machine.js'
import type { PlatformState, RegistryAccess, RegistryUser } from './types.js'

/** v1's username rule (service-register check-and-constraints.js): 5 to 60 characters. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9-]{3,58}[a-z0-9]$/

/** Names a user may never take: v1's static DNS entries and the platform's service names. */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'access', 'admin', 'adm', 'api', 'dns1', 'dns2', 'lead', 'mail', 'mfa', 'reg', 'reg2', 'register', 'service', 'sw', 'static', 'www'
])

/** How long a `POST /users/validate` reservation holds (v1: 10 minutes). */
export const RESERVATION_TTL_MS = 10 * 60_000
/** How long an `access` request lives (v1's `persistence:access-ttl`, 3600 s). */
export const ACCESS_TTL_MS = 3600_000
/** Users per `registry.import` command. */
export const MAX_IMPORT_PER_COMMAND = 500

/** Account field values are scalars, as in v1's Redis hash. */
export type FieldValue = string | number | boolean | null

export interface ImportedUser {
  readonly username: string
  readonly core: string
  readonly fields: Record<string, FieldValue>
  readonly unique: string[]
}

export type RegistryCommand =
  | { kind: 'registry.user.create', username: string, core: string, fields: Record<string, FieldValue>, unique: string[], invitation?: string }
  /** `set` replaces fields (those named in `unique` are indexed as unique); `unset` removes fields. */
  | { kind: 'registry.user.update', username: string, set: Record<string, FieldValue>, unique: string[], unset: string[] }
  | { kind: 'registry.user.delete', username: string }
  /** v1's `/users/validate`: holds unique values (username included) for one core for RESERVATION_TTL_MS. */
  | { kind: 'registry.reserve', core: string, fields: Record<string, string>, expiresAt: number }
  /** Moves every user of core `from` to core `to`. */
  | { kind: 'registry.server.rename', from: string, to: string }
  | { kind: 'registry.invitations.create', invitations: Array<{ id: string, description: string }> }
  /** Creates (`create`) or moves on an `access` request; a request that ended (ACCEPTED, REFUSED, ERROR) stays as it is. */
  | { kind: 'registry.access.set', key: string, create: boolean, state: Record<string, unknown>, expiresAt: number }
  /** Idempotent: a user already there with the same core and fields is unchanged; a conflicting one is refused. */
  | { kind: 'registry.import', users: ImportedUser[] }

/** A refusal with the details the register API answers with (which fields clash). */
export interface RegistryRefusal {
  readonly ok: false
  readonly code: string
  readonly message: string
  readonly data?: Record<string, unknown>
}

const refuse = (code: string, message: string, data?: Record<string, unknown>): RegistryRefusal => ({ ok: false, code, message, ...(data ? { data } : {}) })

const FIELD = /^[A-Za-z0-9_-]{1,64}$/
const isScalar = (v: unknown): v is FieldValue => v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 1000)
const isFields = (v: unknown, max = 64): v is Record<string, FieldValue> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length <= max && Object.entries(v).every(([k, x]) => FIELD.test(k) && isScalar(x))
const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 64 && v.every((x) => typeof x === 'string' && FIELD.test(x))
const isKey = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9]{10,200}$/.test(v)
const isName = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 253

/** Checks the shape of a registry command (parseCommand delegates here); returns what is wrong. */
export function registryCommandProblem(c: Record<string, unknown>): string | undefined {
  switch (c.kind) {
    case 'registry.user.create':
      if (!isName(c.username) || !isName(c.core)) return 'registry.user.create needs username and core'
      if (!isFields(c.fields) || !isNames(c.unique)) return 'registry.user.create needs fields and unique field names'
      if (c.invitation !== undefined && !isName(c.invitation)) return 'registry.user.create invitation must be a string'
      return undefined
    case 'registry.user.update':
      if (!isName(c.username) || !isFields(c.set) || !isNames(c.unique) || !isNames(c.unset)) return 'registry.user.update needs username, set, unique and unset'
      return undefined
    case 'registry.user.delete':
      return isName(c.username) ? undefined : 'registry.user.delete needs username'
    case 'registry.reserve':
      if (!isName(c.core) || !isFields(c.fields) || !Object.values(c.fields as object).every((v) => typeof v === 'string')) return 'registry.reserve needs core and string fields'
      return Number.isSafeInteger(c.expiresAt) ? undefined : 'registry.reserve needs expiresAt'
    case 'registry.server.rename':
      return isName(c.from) && isName(c.to) ? undefined : 'registry.server.rename needs from and to'
    case 'registry.invitations.create': {
      const list = c.invitations
      const ok = Array.isArray(list) && list.length >= 1 && list.length <= 1000 &&
        list.every((i) => typeof i === 'object' && i !== null && isName((i as { id?: unknown }).id) && typeof (i as { description?: unknown }).description === 'string')
      return ok ? undefined : 'registry.invitations.create needs 1 to 1000 invitations with id and description'
    }
    case 'registry.access.set':
      if (!isKey(c.key) || typeof c.create !== 'boolean' || typeof c.state !== 'object' || c.state === null) return 'registry.access.set needs key, create and state'
      return Number.isSafeInteger(c.expiresAt) ? undefined : 'registry.access.set needs expiresAt'
    case 'registry.import': {
      const users = c.users
      const ok = Array.isArray(users) && users.length >= 1 && users.length <= MAX_IMPORT_PER_COMMAND &&
        users.every((u) => typeof u === 'object' && u !== null && isName(u.username) && isName(u.core) && isFields(u.fields) && isNames(u.unique))
      return ok ? undefined : `registry.import takes 1 to ${MAX_IMPORT_PER_COMMAND} users with username, core, fields and unique`
    }
    default:
      return `unknown command kind ${JSON.stringify(c.kind)}`
  }
}

/** Key of a unique value: field and lower-cased value (v1 compares unique values case-insensitively). */
export function uniqueKey(field: string, value: FieldValue): string {
  return `${field}:${String(value).toLowerCase()}`
}

/** Why `username` cannot be registered (reserved or malformed), or undefined. Node names are reserved too: they are DNS names. */
export function usernameProblem(state: PlatformState, username: string): { code: string, message: string } | undefined {
  if (!USERNAME_PATTERN.test(username)) return { code: 'PRYV_REGISTRY_INVALID_USERNAME', message: `"${username}" is not a valid username (5 to 60 characters: a-z, 0-9, inner dashes)` }
  if (RESERVED_USERNAMES.has(username) || username.startsWith('pryv') || memberNames(state).has(username)) return { code: 'PRYV_REGISTRY_RESERVED', message: `"${username}" is reserved` }
  return undefined
}

/** A user exists when the registry or the DNS users hold the name (names set with `dns users` are taken too). */
export function userExists(state: PlatformState, username: string): boolean {
  return state.registryUsers.has(username) || state.dnsUsers.has(username)
}

/** The unique values among `fields` held by someone other than `username`. */
function uniqueClashes(state: PlatformState, username: string, fields: Record<string, FieldValue>, unique: readonly string[]): Record<string, FieldValue> {
  const clashes: Record<string, FieldValue> = {}
  for (const field of unique) {
    const value = fields[field]
    if (value === undefined || value === null || value === '') continue
    const owner = state.registryUnique.get(uniqueKey(field, value))
    if (owner !== undefined && owner !== username) clashes[field] = value
  }
  return clashes
}

function memberNames(state: PlatformState): Set<string> {
  return new Set([...state.members.values()].map((m) => m.name))
}

function activeReservation(state: PlatformState, key: string, at: number): { core: string } | undefined {
  const r = state.registryReservations.get(key)
  return r && r.expiresAt > at ? r : undefined
}

/** Says whether a registry command would be refused in this state (deterministic). */
export function checkRegistryCommand(state: PlatformState, cmd: RegistryCommand & { at: number }): RegistryRefusal | undefined {
  switch (cmd.kind) {
    case 'registry.user.create': {
      const problem = usernameProblem(state, cmd.username)
      if (problem) return refuse(problem.code, problem.message)
      if (!memberNames(state).has(cmd.core)) return refuse('PRYV_REGISTRY_UNKNOWN_CORE', `"${cmd.core}" is not a member of the platform`)
      const clashes = uniqueClashes(state, cmd.username, cmd.fields, cmd.unique)
      if (userExists(state, cmd.username)) clashes.username = cmd.username
      if (Object.keys(clashes).length > 0) return refuse('PRYV_REGISTRY_TAKEN', `already taken: ${Object.keys(clashes).join(', ')}`, clashes)
      if (cmd.invitation !== undefined) {
        const inv = state.registryInvitations.get(cmd.invitation)
        if (!inv || inv.consumedAt !== undefined) return refuse('PRYV_REGISTRY_INVITATION', 'the invitation token is unknown or was already used')
      }
      return undefined
    }
    case 'registry.user.update': {
      if (!state.registryUsers.has(cmd.username)) return refuse('PRYV_REGISTRY_UNKNOWN_USER', `no user "${cmd.username}"`)
      const clashes = uniqueClashes(state, cmd.username, cmd.set, cmd.unique)
      return Object.keys(clashes).length > 0 ? refuse('PRYV_REGISTRY_TAKEN', `already taken: ${Object.keys(clashes).join(', ')}`, clashes) : undefined
    }
    case 'registry.user.delete':
      return state.registryUsers.has(cmd.username) ? undefined : refuse('PRYV_REGISTRY_UNKNOWN_USER', `no user "${cmd.username}"`)
    case 'registry.reserve': {
      const clashes: Record<string, FieldValue> = {}
      for (const [field, value] of Object.entries(cmd.fields)) {
        const key = uniqueKey(field, value)
        const taken = field === 'username' ? userExists(state, value.toLowerCase()) : state.registryUnique.has(key)
        const held = activeReservation(state, key, cmd.at)
        if (taken || (held && held.core !== cmd.core)) clashes[field] = value
      }
      return Object.keys(clashes).length > 0 ? refuse('PRYV_REGISTRY_TAKEN', `already taken or reserved: ${Object.keys(clashes).join(', ')}`, clashes) : undefined
    }
    case 'registry.server.rename':
      return memberNames(state).has(cmd.to) ? undefined : refuse('PRYV_REGISTRY_UNKNOWN_CORE', `"${cmd.to}" is not a member of the platform`)
    case 'registry.invitations.create':
      return cmd.invitations.some((i) => state.registryInvitations.has(i.id)) ? refuse('PRYV_REGISTRY_INVITATION_EXISTS', 'an invitation with this token exists') : undefined
    case 'registry.access.set': {
      const current = state.registryAccess.get(cmd.key)
      const live = current && current.expiresAt > cmd.at ? current : undefined
      if (cmd.create) return live ? refuse('PRYV_REGISTRY_ACCESS_EXISTS', 'an access request has this key') : undefined
      if (!live) return refuse('PRYV_REGISTRY_ACCESS_UNKNOWN', 'no access request has this key (or it expired)')
      return isFinal(live) ? refuse('PRYV_REGISTRY_ACCESS_ENDED', `the access request already ended (${String(live.state.status)})`) : undefined
    }
    case 'registry.import':
      return undefined
  }
}

function isFinal(access: RegistryAccess): boolean {
  return access.state.status === 'ACCEPTED' || access.state.status === 'REFUSED' || access.state.status === 'ERROR'
}

/** Applies a registry command that `checkRegistryCommand` accepted. */
export function applyRegistryCommand(state: PlatformState, cmd: RegistryCommand & { at: number, author: string }): { value?: unknown, changes: StateChange[] } {
  switch (cmd.kind) {
    case 'registry.user.create': {
      const changes = putUser(state, { username: cmd.username, core: cmd.core, fields: cmd.fields, unique: uniqueNames(cmd.unique), registeredAt: cmd.at })
      for (const field of [...cmd.unique, 'username']) {
        const value = field === 'username' ? cmd.username : cmd.fields[field]
        if (value !== undefined && value !== null) changes.push(...dropReservation(state, uniqueKey(field, value)))
      }
      if (cmd.invitation !== undefined) {
        const inv = state.registryInvitations.get(cmd.invitation)!
        state.registryInvitations.set(cmd.invitation, { ...inv, consumedAt: cmd.at, consumedBy: cmd.username })
        changes.push({ type: 'registryInvitation', id: cmd.invitation })
      }
      return { value: { username: cmd.username, core: cmd.core }, changes }
    }
    case 'registry.user.update': {
      const user = state.registryUsers.get(cmd.username)!
      const fields = { ...user.fields, ...cmd.set }
      for (const f of cmd.unset) delete fields[f]
      const unique = uniqueNames([...user.unique.filter((f) => !cmd.unset.includes(f)), ...cmd.unique])
      const changes = removeUser(state, cmd.username)
      changes.push(...putUser(state, { ...user, fields, unique }))
      return { value: { username: cmd.username }, changes }
    }
    case 'registry.user.delete':
      return { value: { deleted: true }, changes: removeUser(state, cmd.username) }
    case 'registry.reserve': {
      const changes = pruneReservations(state, cmd.at)
      for (const [field, value] of Object.entries(cmd.fields)) {
        const id = uniqueKey(field, value)
        state.registryReservations.set(id, { core: cmd.core, expiresAt: cmd.expiresAt })
        changes.push({ type: 'registryReservation', id })
      }
      return { value: { reservation: true }, changes }
    }
    case 'registry.server.rename': {
      const changes: StateChange[] = []
      const moved: string[] = []
      for (const user of [...state.registryUsers.values()]) {
        if (user.core !== cmd.from) continue
        changes.push(...moveUser(state, user.username, cmd.to))
        moved.push(user.username)
      }
      return { value: { count: moved.length, usernames: moved }, changes }
    }
    case 'registry.invitations.create': {
      const changes: StateChange[] = []
      for (const i of cmd.invitations) {
        state.registryInvitations.set(i.id, { id: i.id, description: i.description, createdAt: cmd.at, createdBy: cmd.author })
        changes.push({ type: 'registryInvitation', id: i.id })
      }
      return { value: { count: changes.length }, changes }
    }
    case 'registry.access.set': {
      const changes = pruneAccess(state, cmd.at)
      state.registryAccess.set(cmd.key, { key: cmd.key, state: cmd.state, expiresAt: cmd.create ? cmd.expiresAt : state.registryAccess.get(cmd.key)!.expiresAt })
      changes.push({ type: 'registryAccess', id: cmd.key })
      return { value: cmd.state, changes }
    }
    case 'registry.import':
      return importUsers(state, cmd)
  }
}

function importUsers(state: PlatformState, cmd: { users: ImportedUser[], at: number }): { value: unknown, changes: StateChange[] } {
  const changes: StateChange[] = []
  let imported = 0
  let unchanged = 0
  const refused: Array<{ username: string, reason: string }> = []
  const members = memberNames(state)
  for (const u of cmd.users) {
    const existing = state.registryUsers.get(u.username)
    if (existing && existing.core === u.core && sameFields(existing.fields, u.fields)) {
      unchanged++
      continue
    }
    const problem = usernameProblem(state, u.username)
    if (problem) refused.push({ username: u.username, reason: problem.message })
    else if (!members.has(u.core)) refused.push({ username: u.username, reason: `its core "${u.core}" is not a member of the platform` })
    else if (userExists(state, u.username)) refused.push({ username: u.username, reason: 'a different user with this name exists' })
    else {
      const clashes = uniqueClashes(state, u.username, u.fields, u.unique)
      if (Object.keys(clashes).length > 0) refused.push({ username: u.username, reason: `already taken: ${Object.entries(clashes).map(([f, v]) => `${f}=${String(v)}`).join(', ')}` })
      else {
        const registeredAt = typeof u.fields.registeredTimestamp === 'number' ? u.fields.registeredTimestamp : cmd.at
        changes.push(...putUser(state, { username: u.username, core: u.core, fields: u.fields, unique: uniqueNames(u.unique), registeredAt }))
        imported++
      }
    }
  }
  return { value: { imported, unchanged, refused }, changes }
}

function sameFields(a: Readonly<Record<string, FieldValue>>, b: Readonly<Record<string, FieldValue>>): boolean {
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k])
}

function uniqueNames(names: readonly string[]): string[] {
  return [...new Set(names.filter((n) => n !== 'username'))].sort()
}

/** Stores a user with its unique values, its DNS name and its core's count. */
function putUser(state: PlatformState, user: RegistryUser): StateChange[] {
  state.registryUsers.set(user.username, user)
  state.dnsUsers.set(user.username, user.core)
  const changes: StateChange[] = [{ type: 'registryUser', id: user.username }, { type: 'dnsUser', id: user.username }, ...addToCount(state, user.core, 1)]
  for (const field of user.unique) {
    const value = user.fields[field]
    if (value === undefined || value === null || value === '') continue
    const id = uniqueKey(field, value)
    state.registryUnique.set(id, user.username)
    changes.push({ type: 'registryUnique', id })
  }
  return changes
}

function removeUser(state: PlatformState, username: string): StateChange[] {
  const user = state.registryUsers.get(username)
  if (!user) return []
  state.registryUsers.delete(username)
  state.dnsUsers.delete(username)
  const changes: StateChange[] = [{ type: 'registryUser', id: username }, { type: 'dnsUser', id: username }, ...addToCount(state, user.core, -1)]
  for (const field of user.unique) {
    const value = user.fields[field]
    if (value === undefined || value === null) continue
    const id = uniqueKey(field, value)
    if (state.registryUnique.get(id) === username) {
      state.registryUnique.delete(id)
      changes.push({ type: 'registryUnique', id })
    }
  }
  return changes
}

/**
 * Points a registry user at another core (also when `dns users set` moves it), keeping the counts.
 * Not a registry user: nothing to do.
 */
export function moveUser(state: PlatformState, username: string, core: string): StateChange[] {
  const user = state.registryUsers.get(username)
  if (!user || user.core === core) return []
  state.registryUsers.set(username, { ...user, core })
  state.dnsUsers.set(username, core)
  return [{ type: 'registryUser', id: username }, { type: 'dnsUser', id: username }, ...addToCount(state, user.core, -1), ...addToCount(state, core, 1)]
}

function addToCount(state: PlatformState, core: string, delta: number): StateChange[] {
  const n = (state.registryCounts.get(core) ?? 0) + delta
  if (n > 0) state.registryCounts.set(core, n)
  else state.registryCounts.delete(core)
  return [{ type: 'registryCount', id: core }]
}

function dropReservation(state: PlatformState, id: string): StateChange[] {
  return state.registryReservations.delete(id) ? [{ type: 'registryReservation', id }] : []
}

/** Expired reservations and access requests are dropped when their kind changes, by the entry's time (deterministic). */
function pruneReservations(state: PlatformState, at: number): StateChange[] {
  const changes: StateChange[] = []
  for (const [id, r] of state.registryReservations) if (r.expiresAt <= at) changes.push(...dropReservation(state, id))
  return changes
}

function pruneAccess(state: PlatformState, at: number): StateChange[] {
  const changes: StateChange[] = []
  for (const [id, a] of state.registryAccess) {
    if (a.expiresAt > at) continue
    state.registryAccess.delete(id)
    changes.push({ type: 'registryAccess', id })
  }
  return changes
}

/** Usernames whose DNS answer a registry command may have changed. */
export function dnsUsersTouched(cmd: RegistryCommand, value: unknown): string[] {
  switch (cmd.kind) {
    case 'registry.user.create':
    case 'registry.user.delete':
      return [cmd.username]
    case 'registry.import':
      return cmd.users.map((u) => u.username)
    case 'registry.server.rename':
      return (value as { usernames?: string[] } | undefined)?.usernames ?? []
    default:
      return []
  }
}
