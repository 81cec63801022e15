import { targetValues } from '../config/change.js'
import { formatProblem } from '../config/errors.js'
import { checkLoggedChange, checkReleaseSettings, platformRelease, replicatedSettings } from '../release/platform.js'
import type { SettingsSnapshot } from '../release/types.js'
import type { ChangeValidation } from '../config/validate.js'
import { ADMIN_COMMAND_KINDS, applyAdminCommand, checkAdminCommand } from './admin.js'
import type { StampedCommand } from './commands.js'
import { applyRegistryCommand, checkRegistryCommand, moveUser } from './registry.js'
import { applyCertsCommand, checkCertsCommand, type CertsCommand } from './certs.js'
import { type CollectionName, currentRelease, currentReleaseEntry, type InviteRecord, type Member, PLATFORM_SETTINGS_KEY, type PlatformState, type ReleaseHistoryRecord, settingsHistoryKey } from './types.js'

/** `data`: details for the caller (the registry's clashing fields). */
export type Refusal = { readonly ok: false, readonly code: string, readonly message: string, readonly data?: Record<string, unknown> }

/** Outcome of one command. A refused command still consumes its revision: the log is the history. */
export type ApplyResult = { readonly ok: true, readonly value?: unknown } | Refusal

/** Which records of the state a command touched (a record now absent was deleted), so the store persists only those. */
export type StateChange = { readonly type: CollectionName, readonly id: string } | { readonly type: 'platform' }

export interface ApplyOutcome {
  readonly result: ApplyResult
  readonly changes: readonly StateChange[]
}

const refusal = (code: string, message: string): Refusal => ({ ok: false, code, message })

/**
 * Commands that do not change the DNS zone; every other one bumps its SOA serial (zoneRevision).
 * Users change the answers, so they bump it too, but the DNS server applies them in place (a
 * recompile with 100k users takes ~150 ms): see USERS_IN_PLACE.
 */
export const OUTSIDE_THE_ZONE: ReadonlySet<StampedCommand['kind']> = new Set(['invite.create', 'invite.revoke', 'read.barrier', 'mesh.key',
  // User registry: what does not change which users DNS answers for.
  'registry.user.update', 'registry.reserve', 'registry.invitations.create', 'registry.access.set',
  // Admin accounts, tokens, login links.
  ...ADMIN_COMMAND_KINDS as ReadonlySet<StampedCommand['kind']>,
  // Certificates: the lease and the certificate itself are not DNS data (the challenges are acme.*).
  'certs.lease', 'certs.progress', 'certs.done', 'certs.import'])
/** Commands that change the zone's users only: served in place, with the new serial. */
export const USERS_IN_PLACE: ReadonlySet<StampedCommand['kind']> = new Set(['dns.users.set', 'dns.users.remove',
  // User registry: its users are DNS users (src/state/registry.ts).
  'registry.user.create', 'registry.user.delete', 'registry.server.rename', 'registry.import'])

/**
 * Commands of the areas that keep their own rules in their own module, dispatched by the kind's prefix
 * (`registry.…`, `admin.…`, `certs.…`): the user registry, admin accounts, the platform's certificate.
 */
type AreaCommand = StampedCommand & { kind: `${keyof typeof AREAS}.${string}` }

const AREAS = {
  registry: {
    check: (state: PlatformState, cmd: AreaCommand) => checkRegistryCommand(state, cmd as Parameters<typeof checkRegistryCommand>[1]),
    apply: (state: PlatformState, cmd: AreaCommand): ApplyOutcome => {
      const { value, changes } = applyRegistryCommand(state, cmd as Parameters<typeof applyRegistryCommand>[1])
      return { result: { ok: true, value }, changes }
    }
  },
  admin: {
    check: (state: PlatformState, cmd: AreaCommand) => checkAdminCommand(state, cmd as Parameters<typeof checkAdminCommand>[1]),
    apply: (state: PlatformState, cmd: AreaCommand) => applyAdminCommand(state, cmd as Parameters<typeof applyAdminCommand>[1])
  },
  certs: {
    check: (state: PlatformState, cmd: AreaCommand) => checkCertsCommand(state, cmd as CertsCommand),
    apply: (state: PlatformState, cmd: AreaCommand) => applyCertsCommand(state, cmd as CertsCommand)
  }
} satisfies Record<string, { check(state: PlatformState, cmd: AreaCommand): Refusal | undefined, apply(state: PlatformState, cmd: AreaCommand): ApplyOutcome }>

const areaOf = (cmd: AreaCommand): keyof typeof AREAS => cmd.kind.slice(0, cmd.kind.indexOf('.')) as keyof typeof AREAS

function isAreaCommand(cmd: StampedCommand): cmd is AreaCommand {
  const dot = cmd.kind.indexOf('.')
  return dot > 0 && Object.hasOwn(AREAS, cmd.kind.slice(0, dot))
}

/**
 * Says whether a command would be refused in this state, without changing anything. The writer asks
 * this before appending, so refused proposals never enter the log; `applyCommand` asks it again
 * because entries from the log must be applied the same way on every node.
 */
export function checkCommand(state: PlatformState, cmd: StampedCommand): Refusal | undefined {
  if (isAreaCommand(cmd)) return AREAS[areaOf(cmd)].check(state, cmd)
  switch (cmd.kind) {
    case 'platform.create':
      return state.platform ? refusal('PRYV_PLATFORM_EXISTS', 'the platform was already created') : undefined
    case 'member.join': {
      const invite = state.invites.get(cmd.inviteId)
      if (!invite) return refusal('PRYV_INVITE_UNKNOWN', 'this invite is not known to the platform')
      if (isRetriedJoin(state, cmd)) return undefined
      if (invite.revoked) return refusal('PRYV_INVITE_REVOKED', 'this invite was revoked')
      if (invite.expiresAt <= cmd.at) return refusal('PRYV_INVITE_EXPIRED', `this invite expired at ${new Date(invite.expiresAt).toISOString()}`)
      if (invite.usedBy.length >= invite.uses) return refusal('PRYV_INVITE_USED', 'this invite was already used')
      const existing = state.members.get(cmd.member.peerId)
      if (existing) return refusal('PRYV_ALREADY_MEMBER', `this machine is already the member "${existing.name}"`)
      for (const m of state.members.values()) {
        if (m.name === cmd.member.name) return refusal('PRYV_NAME_TAKEN', `the name "${cmd.member.name}" is already taken by another member`)
      }
      return undefined
    }
    case 'member.addresses':
      return state.members.has(cmd.peerId) ? undefined : refusal('PRYV_NOT_A_MEMBER', 'no member has this peer id')
    case 'member.role':
    case 'member.remove': {
      const m = state.members.get(cmd.peerId)
      if (!m) return refusal('PRYV_NOT_A_MEMBER', 'no member has this peer id')
      const losesFull = m.role === 'full' && (cmd.kind === 'member.remove' || cmd.role === 'observer')
      const fullLeft = [...state.members.values()].filter((x) => x.role === 'full').length - (losesFull ? 1 : 0)
      if (fullLeft < 1) return refusal('PRYV_LAST_FULL_MEMBER', `"${m.name}" is the last full member: the platform needs at least one`)
      return undefined
    }
    case 'invite.create':
      return state.invites.has(cmd.id) ? refusal('PRYV_INVITE_EXISTS', 'an invite with this id exists') : undefined
    case 'invite.revoke':
      return state.invites.has(cmd.id) ? undefined : refusal('PRYV_INVITE_UNKNOWN', `no invite has the id "${cmd.id}"`)
    case 'dns.users.set': {
      const names = new Set([...state.members.values()].map((m) => m.name))
      for (const [user, core] of Object.entries(cmd.users)) {
        if (!names.has(core)) return refusal('PRYV_DNS_UNKNOWN_CORE', `"${core}" (core of user "${user}") is not a member of the platform`)
        if (names.has(user)) return refusal('PRYV_DNS_NAME_CLASH', `"${user}" is the name of a node, so it cannot be a username`)
      }
      return undefined
    }
    case 'dns.users.remove':
    case 'read.barrier':
    case 'acme.set':
    case 'acme.remove':
    // Mesh security: a key rotation step changes no state; each node follows it in its own keyring.
    case 'mesh.key':
      return undefined
    case 'settings.change': {
      const outcome = settingsOutcome(state, cmd)
      if ('refusal' in outcome) return outcome.refusal
      return outcome.ok ? undefined : refusal('PRYV_SETTINGS_INVALID', outcome.problems.map(formatProblem).join('; '))
    }
    case 'release.apply': {
      const names = memberNames(state)
      const unknown = Object.keys(cmd.settings.machines).filter((n) => !names.includes(n))
      if (unknown.length > 0) return refusal('PRYV_NODE_UNKNOWN', `the release's settings name nodes that are not members: ${unknown.join(', ')}`)
      const settings = { platform: cmd.settings.platform, machines: Object.fromEntries(names.map((n) => [n, cmd.settings.machines[n] ?? {}])) }
      const problems = checkReleaseSettings(platformRelease(cmd.release), settings)
      return problems.length === 0 ? undefined : refusal('PRYV_SETTINGS_INVALID', `release ${cmd.release.version}: ${problems.map((p) => p.message).join('; ')}`)
    }
    case 'release.rollback': {
      const entry = currentReleaseEntry(state)
      if (!entry || entry.digest !== cmd.failed) return refusal('PRYV_RELEASE_NOT_IN_FORCE', 'that release is no longer the one in force (already rolled back or replaced)')
      const applied = rollbackSource(state)
      if (!applied?.from) return refusal('PRYV_RELEASE_NO_PREVIOUS', `release ${entry.version} was the platform's first: there is no release before it`)
      if (!state.releases.has(applied.from.digest)) return refusal('PRYV_RELEASE_NO_PREVIOUS', `release ${applied.from.version}, before ${entry.version}, is no longer kept`)
      return undefined
    }
  }
}

function memberNames(state: PlatformState): string[] {
  return [...state.members.values()].map((m) => m.name)
}

/** Every settings layer as stored now, for a rollback to restore. */
function settingsSnapshot(state: PlatformState): SettingsSnapshot {
  return { platform: state.platformSettings.get(PLATFORM_SETTINGS_KEY) ?? {}, machines: Object.fromEntries(state.machineSettings) }
}

/** Replaces every settings layer; machine layers of nodes that are not members are dropped. */
function restoreSettings(state: PlatformState, snapshot: SettingsSnapshot): StateChange[] {
  const changes: StateChange[] = [{ type: 'platformSettings', id: PLATFORM_SETTINGS_KEY }]
  state.platformSettings.set(PLATFORM_SETTINGS_KEY, snapshot.platform)
  const names = new Set(memberNames(state))
  for (const name of new Set([...state.machineSettings.keys(), ...Object.keys(snapshot.machines)])) {
    const values = snapshot.machines[name]
    if (values && Object.keys(values).length > 0 && names.has(name)) state.machineSettings.set(name, values)
    else if (!state.machineSettings.delete(name)) continue
    changes.push({ type: 'machineSettings', id: name })
  }
  return changes
}

/**
 * The `apply` that brought the release in force: a rollback goes back to the release before it, with
 * the settings as they were then. (After an automatic rollback, a second one goes further back, not
 * forward to the release that failed.)
 */
export function rollbackSource(state: PlatformState): ReleaseHistoryRecord | undefined {
  const digest = currentReleaseEntry(state)?.digest
  return [...state.releaseHistory.values()].findLast((r) => r.kind === 'apply' && r.digest === digest)
}

const RELEASES_KEPT = 4

/** Only the most recent releases are kept: the one in force and those rollbacks may go back to. */
function pruneReleases(state: PlatformState): StateChange[] {
  const keep = new Set<string>()
  for (const r of [...state.releaseHistory.values()].reverse()) {
    if (keep.size >= RELEASES_KEPT) break
    keep.add(r.digest)
  }
  const changes: StateChange[] = []
  for (const digest of [...state.releases.keys()]) {
    if (keep.has(digest)) continue
    state.releases.delete(digest)
    changes.push({ type: 'release', id: digest })
  }
  return changes
}

/** Records the release change and puts `settings` in place of every layer. */
function recordRelease(state: PlatformState, cmd: StampedCommand, settings: SettingsSnapshot, record: Omit<ReleaseHistoryRecord, 'revision' | 'at' | 'author' | 'settingsBefore' | 'settings'>): StateChange[] {
  const revision = state.revision + 1
  const id = settingsHistoryKey(revision)
  const origin = (cmd as { origin?: string }).origin
  const settingsBefore = settingsSnapshot(state)
  const changes = restoreSettings(state, settings)
  state.releaseHistory.set(id, { revision, at: cmd.at, author: origin ?? state.members.get(cmd.author)?.name ?? cmd.author, settingsBefore, settings: settingsSnapshot(state), ...record })
  return [{ type: 'releaseHistory', id }, ...changes]
}

/** A settings change checked with the platform's release against every member's effective settings. */
function settingsOutcome(state: PlatformState, cmd: StampedCommand & { kind: 'settings.change' }): ChangeValidation | { refusal: Refusal } {
  const names = memberNames(state)
  if (cmd.target.kind === 'machine' && !names.includes(cmd.target.nodeId)) {
    return { refusal: refusal('PRYV_NODE_UNKNOWN', `no member is named "${cmd.target.nodeId}"`) }
  }
  const current = replicatedSettings(state.platformSettings.get(PLATFORM_SETTINGS_KEY), state.machineSettings, names)
  return checkLoggedChange(current, cmd, platformRelease(currentRelease(state)))
}

/** A joiner retrying after a lost reply must get the same answer, not "invite used". */
function isRetriedJoin(state: PlatformState, cmd: StampedCommand & { kind: 'member.join' }): boolean {
  return state.members.has(cmd.member.peerId) && (state.invites.get(cmd.inviteId)?.usedBy.includes(cmd.member.peerId) ?? false)
}

/**
 * Applies one command to the state, in place. Deterministic: it reads only the state and the command
 * (never a clock), so every node that applies the same log reaches the same state.
 * The caller advances `revision` and `headHash`.
 */
export function applyCommand(state: PlatformState, cmd: StampedCommand): ApplyOutcome {
  const refused = checkCommand(state, cmd)
  if (refused) return { result: refused, changes: [] }
  if (!OUTSIDE_THE_ZONE.has(cmd.kind)) state.zoneRevision = state.revision + 1
  if (isAreaCommand(cmd)) return AREAS[areaOf(cmd)].apply(state, cmd)
  switch (cmd.kind) {
    case 'platform.create': {
      state.platform = { id: cmd.id, domain: cmd.domain, createdAt: cmd.at, founder: cmd.founder.peerId }
      state.writers = [cmd.founder.peerId]
      state.members.set(cmd.founder.peerId, { ...cmd.founder, joinedAt: cmd.at })
      return { result: { ok: true }, changes: [{ type: 'platform' }, { type: 'member', id: cmd.founder.peerId }] }
    }
    case 'member.join': {
      if (isRetriedJoin(state, cmd)) return { result: { ok: true, value: state.members.get(cmd.member.peerId) }, changes: [] }
      const invite = state.invites.get(cmd.inviteId)!
      const member: Member = { ...cmd.member, role: invite.role, joinedAt: cmd.at }
      state.members.set(member.peerId, member)
      // Every full member may sign committed entries; observers only read them.
      if (member.role === 'full') state.writers = [...state.writers, member.peerId]
      state.invites.set(invite.id, { ...invite, usedBy: [...invite.usedBy, member.peerId] })
      return { result: { ok: true, value: member }, changes: [{ type: 'member', id: member.peerId }, { type: 'invite', id: invite.id }] }
    }
    case 'member.addresses': {
      const m = state.members.get(cmd.peerId)!
      state.members.set(m.peerId, { ...m, addresses: [...cmd.addresses] })
      return { result: { ok: true }, changes: [{ type: 'member', id: m.peerId }] }
    }
    case 'member.role': {
      const m = state.members.get(cmd.peerId)!
      state.members.set(m.peerId, { ...m, role: cmd.role })
      state.writers = fullMembers(state)
      return { result: { ok: true }, changes: [{ type: 'member', id: m.peerId }] }
    }
    case 'member.remove': {
      const name = state.members.get(cmd.peerId)!.name
      state.members.delete(cmd.peerId)
      state.writers = fullMembers(state)
      // Its overrides would otherwise pass to a future member that takes the same name.
      const changes: StateChange[] = [{ type: 'member', id: cmd.peerId }]
      if (state.machineSettings.delete(name)) changes.push({ type: 'machineSettings', id: name })
      return { result: { ok: true }, changes }
    }
    case 'invite.create': {
      const invite: InviteRecord = {
        id: cmd.id,
        tokenHash: cmd.tokenHash,
        role: cmd.role,
        createdAt: cmd.at,
        createdBy: cmd.author,
        expiresAt: cmd.expiresAt,
        uses: cmd.uses,
        usedBy: [],
        revoked: false
      }
      state.invites.set(invite.id, invite)
      return { result: { ok: true, value: { id: invite.id } }, changes: [{ type: 'invite', id: invite.id }] }
    }
    case 'invite.revoke': {
      const invite = state.invites.get(cmd.id)!
      if (invite.revoked) return { result: { ok: true }, changes: [] }
      state.invites.set(invite.id, { ...invite, revoked: true })
      return { result: { ok: true }, changes: [{ type: 'invite', id: invite.id }] }
    }
    case 'read.barrier':
    // Mesh security: see checkCommand.
    case 'mesh.key':
      return { result: { ok: true }, changes: [] }
    case 'dns.users.set': {
      const changes: StateChange[] = []
      for (const [user, core] of Object.entries(cmd.users)) {
        // A registry user moved this way keeps its registry record and its core's count right.
        changes.push(...moveUser(state, user, core))
        state.dnsUsers.set(user, core)
        changes.push({ type: 'dnsUser', id: user })
      }
      return { result: { ok: true, value: { count: changes.length } }, changes }
    }
    case 'dns.users.remove': {
      const changes: StateChange[] = []
      for (const user of cmd.usernames) if (state.dnsUsers.delete(user)) changes.push({ type: 'dnsUser', id: user })
      return { result: { ok: true, value: { removed: changes.length } }, changes }
    }
    case 'acme.set': {
      const changes = pruneExpiredChallenges(state, cmd.at)
      const id = `${cmd.name} ${cmd.value}`
      state.acmeChallenges.set(id, { name: cmd.name, value: cmd.value, expiresAt: cmd.expiresAt })
      return { result: { ok: true }, changes: [...changes, { type: 'acme', id }] }
    }
    case 'acme.remove': {
      const changes = pruneExpiredChallenges(state, cmd.at)
      for (const [id, c] of state.acmeChallenges) {
        if (c.name === cmd.name && (cmd.value === undefined || c.value === cmd.value)) {
          state.acmeChallenges.delete(id)
          changes.push({ type: 'acme', id })
        }
      }
      return { result: { ok: true, value: { removed: changes.length } }, changes }
    }
    case 'settings.change': {
      const outcome = settingsOutcome(state, cmd) as ChangeValidation & { ok: true }
      const values = targetValues(outcome.next, outcome.change.target)
      const revision = state.revision + 1
      const change: StateChange = cmd.target.kind === 'platform'
        ? { type: 'platformSettings', id: PLATFORM_SETTINGS_KEY }
        : { type: 'machineSettings', id: cmd.target.nodeId }
      const layer = cmd.target.kind === 'platform' ? state.platformSettings : state.machineSettings
      if (Object.keys(values).length === 0 && cmd.target.kind === 'machine') layer.delete(change.id)
      else layer.set(change.id, values)
      const id = settingsHistoryKey(revision)
      const author = cmd.origin ?? state.members.get(cmd.author)?.name ?? cmd.author
      state.settingsHistory.set(id, { revision, at: cmd.at, author, target: cmd.target, message: cmd.message ?? '', diff: outcome.diff, values })
      return { result: { ok: true, value: { revision, diff: outcome.diff } }, changes: [change, { type: 'settingsHistory', id }] }
    }
    case 'release.apply': {
      const before = currentReleaseEntry(state)
      const changes = recordRelease(state, cmd, cmd.settings, {
        kind: 'apply',
        name: cmd.release.name,
        version: cmd.release.version,
        digest: cmd.release.digest,
        ...(before ? { from: { version: before.version, digest: before.digest } } : {}),
        message: cmd.message ?? ''
      })
      state.releases.set(cmd.release.digest, cmd.release)
      changes.push({ type: 'release', id: cmd.release.digest }, ...pruneReleases(state))
      return { result: { ok: true, value: { revision: state.revision + 1, version: cmd.release.version } }, changes }
    }
    case 'release.rollback': {
      const failed = currentReleaseEntry(state)!
      const applied = rollbackSource(state)!
      const target = state.releases.get(applied.from!.digest)!
      const changes = recordRelease(state, cmd, applied.settingsBefore, {
        kind: 'rollback',
        name: target.name,
        version: target.version,
        digest: target.digest,
        from: { version: failed.version, digest: failed.digest },
        message: cmd.message ?? '',
        ...(cmd.automatic ? { automatic: true } : {})
      })
      changes.push(...pruneReleases(state))
      return { result: { ok: true, value: { revision: state.revision + 1, version: target.version } }, changes }
    }
  }
}

/**
 * The writers after a change of role or membership: those that stay keep their order, a new one comes
 * last. Not the members map's order, which differs between a node that applied the entries (insertion
 * order) and one that loaded its state from disk or a snapshot (key order): the writers list is part
 * of every snapshot, which must be the same bytes on every node.
 */
function fullMembers(state: PlatformState): string[] {
  const isFull = (peerId: string): boolean => state.members.get(peerId)?.role === 'full'
  const kept = state.writers.filter(isFull)
  const added = [...state.members.keys()].filter((p) => isFull(p) && !kept.includes(p)).sort()
  return [...kept, ...added]
}

/** Expired challenges are dropped whenever challenges change, by the entry's time (deterministic). */
function pruneExpiredChallenges(state: PlatformState, at: number): StateChange[] {
  const changes: StateChange[] = []
  for (const [id, c] of state.acmeChallenges) {
    if (c.expiresAt <= at) {
      state.acmeChallenges.delete(id)
      changes.push({ type: 'acme', id })
    }
  }
  return changes
}
