import type { ChangeTarget } from '../config/change.js'
import type { ReleaseRecord, SettingsSnapshot } from '../release/types.js'
import { type RegistryCommand, registryCommandProblem } from './registry.js'
import { ADMIN_COMMAND_KINDS, type AdminCommand, adminCommandProblem } from './admin.js'
import { releaseRecordProblem } from './release-record.js'
import { type AcmeAccountRecord, type AttemptError, type NewCertificate, type OrderRecord, accountRecordProblem, attemptErrorProblem, certificateRecordProblem, orderRecordProblem } from '../certs/records.js'
import type { MemberRole } from './types.js'

/**
 * Commands are what the log carries. `at` and `author` are set by the proposer so that applying a
 * command never reads a clock: every node reaches the same state from the same log.
 */
export type Command =
  | { kind: 'platform.create', id: string, domain: string, founder: NewMember }
  | { kind: 'member.join', inviteId: string, member: NewMember }
  | { kind: 'member.addresses', peerId: string, addresses: string[] }
  /** Promote an observer to a full member (a writer-set candidate), or demote a full member. */
  | { kind: 'member.role', peerId: string, role: MemberRole }
  | { kind: 'member.remove', peerId: string }
  | { kind: 'invite.create', id: string, tokenHash: string, role: MemberRole, expiresAt: number, uses: number }
  | { kind: 'invite.revoke', id: string }
  /** Changes nothing: a consistent read waits until its own barrier is applied locally. */
  | { kind: 'read.barrier' }
  /** username → core node name; up to MAX_USERS_PER_COMMAND per command. */
  | { kind: 'dns.users.set', users: Record<string, string> }
  | { kind: 'dns.users.remove', usernames: string[] }
  | { kind: 'acme.set', name: string, value: string, expiresAt: number }
  /** Without `value`, every challenge of that name. */
  | { kind: 'acme.remove', name: string, value?: string }
  /** Typed values (validated again by every node); a machine is targeted by its node name; `origin` names the proposing node. */
  | { kind: 'settings.change', target: ChangeTarget, set?: Record<string, unknown>, unset?: string[], message?: string, origin?: string }
  /** A new release and every settings layer migrated to it, in one entry. */
  | { kind: 'release.apply', release: ReleaseRecord, settings: SettingsSnapshot, message?: string, origin?: string }
  /**
   * Back to the release before the one in force, with the settings as they were before it. `failed`
   * names the release whose rollout failed: refused when another is in force by then, so that many
   * nodes reporting the same failure roll back once.
   */
  | { kind: 'release.rollback', failed: string, message?: string, automatic?: boolean, origin?: string }
  // Mesh security: platform key rotation (src/node/key-rotation.ts). Every member first accepts the new
  // key besides the old one, then dials with it, then refuses the old one. `keyId` names a key publicly.
  | { kind: 'mesh.key', step: 'add', keyId: string, platformKeyHex: string }
  | { kind: 'mesh.key', step: 'use' | 'retire', keyId: string }
  /** User registry (Pryv's register): src/state/registry.ts. */
  | RegistryCommand
  /** Admin accounts, API tokens, login links (issue 13): src/state/admin.ts */
  | AdminCommand
  // ----- certificates (src/certs, src/node/certs-service.ts) -----
  /** Takes the platform's renewal lease until `until`; `takeover` when its holder is known to be down. */
  | { kind: 'certs.lease', until: number, reason: string, takeover?: boolean }
  /** The lease holder's progress: the account it created, the order it placed (null: dropped), a longer lease. */
  | { kind: 'certs.progress', account?: AcmeAccountRecord, order?: OrderRecord | null, orderPlaced?: boolean, until?: number }
  /** Ends the holder's attempt with the new certificate, or with the error and when to try again; releases the lease. */
  | { kind: 'certs.done', certificate?: NewCertificate, error?: AttemptError, nextAttemptAt?: number, keepOrder?: boolean }
  /** An operator's certificate, checked (key, dates, names) by the node that proposes it. */
  | { kind: 'certs.import', certificate: NewCertificate }

export interface NewMember {
  peerId: string
  name: string
  role: MemberRole
  addresses: string[]
}

/** `actor`: the admin account or API token that made the change through the admin API (absent: the local CLI). */
export type StampedCommand = Command & { at: number, author: string, actor?: string }

export class InvalidCommandError extends Error {
  static override name = 'InvalidCommandError'
  override name = 'InvalidCommandError'
}

const NODE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

/** A node name becomes a DNS label (`<name>.<domain>`), so it must be one. */
export function isValidNodeName(name: string): boolean {
  return NODE_NAME.test(name)
}

function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new InvalidCommandError(what)
}

export const MAX_USERS_PER_COMMAND = 10_000

const ACME_NAME = /^_acme-challenge(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 512
const isStrList = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 32 && v.every(isStr)
const isRole = (v: unknown): v is MemberRole => v === 'full' || v === 'observer'
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function checkMessageAndOrigin(c: Record<string, unknown>): void {
  check(c.message === undefined || (typeof c.message === 'string' && c.message.length <= 1000), `${String(c.kind)} message must be a string of at most 1000 characters`)
  check(c.origin === undefined || isStr(c.origin), `${String(c.kind)} origin must be a node name`)
}

function checkMember(m: unknown): asserts m is NewMember {
  check(typeof m === 'object' && m !== null, 'member must be an object')
  const r = m as Record<string, unknown>
  check(isStr(r.peerId), 'member.peerId must be a string')
  check(isStr(r.name) && isValidNodeName(r.name), 'member.name must be a DNS label')
  check(isRole(r.role), 'member.role must be full or observer')
  check(isStrList(r.addresses), 'member.addresses must be a list of strings')
}

/** Validates the shape of a command that arrived from outside (a proposal or a log entry). */
export function parseCommand(raw: unknown): StampedCommand {
  check(typeof raw === 'object' && raw !== null, 'a command must be an object')
  const c = raw as Record<string, unknown>
  check(isTime(c.at), 'at must be a timestamp')
  check(isStr(c.author), 'author must be a peer id')
  check(c.actor === undefined || (isStr(c.actor) && c.actor.length <= 128), 'actor must be a short string')
  switch (c.kind) {
    case 'platform.create':
      check(isStr(c.id) && isStr(c.domain), 'platform.create needs id and domain')
      checkMember(c.founder)
      break
    case 'member.join':
      check(isStr(c.inviteId), 'member.join needs inviteId')
      checkMember(c.member)
      break
    case 'member.addresses':
      check(isStr(c.peerId) && isStrList(c.addresses), 'member.addresses needs peerId and addresses')
      break
    case 'member.role':
      check(isStr(c.peerId) && isRole(c.role), 'member.role needs peerId and role')
      break
    case 'member.remove':
      check(isStr(c.peerId), 'member.remove needs peerId')
      break
    case 'invite.create':
      check(isStr(c.id) && isStr(c.tokenHash) && isRole(c.role), 'invite.create needs id, tokenHash and role')
      check(isTime(c.expiresAt), 'invite.create needs expiresAt')
      check(typeof c.uses === 'number' && Number.isSafeInteger(c.uses) && c.uses >= 1, 'invite.create needs uses >= 1')
      break
    case 'invite.revoke':
      check(isStr(c.id), 'invite.revoke needs id')
      break
    case 'read.barrier':
      break
    // Mesh security: platform key rotation.
    case 'mesh.key':
      check(c.step === 'add' || c.step === 'use' || c.step === 'retire', 'mesh.key step must be add, use or retire')
      check(typeof c.keyId === 'string' && /^[0-9a-f]{12}$/.test(c.keyId), 'mesh.key needs a keyId of 12 hex characters')
      check(c.step !== 'add' || (typeof c.platformKeyHex === 'string' && /^[0-9a-f]{64}$/.test(c.platformKeyHex)), 'mesh.key add needs a platform key of 64 hex characters')
      break
    case 'dns.users.set': {
      check(typeof c.users === 'object' && c.users !== null && !Array.isArray(c.users), 'dns.users.set needs users')
      const entries = Object.entries(c.users as Record<string, unknown>)
      check(entries.length >= 1 && entries.length <= MAX_USERS_PER_COMMAND, `dns.users.set takes 1 to ${MAX_USERS_PER_COMMAND} users`)
      for (const [user, core] of entries) {
        check(isValidNodeName(user), `"${user}" is not a valid username (a DNS label)`)
        check(isStr(core) && isValidNodeName(core), `the core of "${user}" must be a node name`)
      }
      break
    }
    case 'dns.users.remove':
      check(Array.isArray(c.usernames) && c.usernames.length >= 1 && c.usernames.length <= MAX_USERS_PER_COMMAND && c.usernames.every(isStr), 'dns.users.remove needs usernames')
      break
    case 'acme.set':
      check(isStr(c.name) && ACME_NAME.test(c.name), 'acme.set needs a name starting with _acme-challenge')
      check(isStr(c.value) && c.value.length <= 255, 'acme.set needs a value of at most 255 characters')
      check(isTime(c.expiresAt), 'acme.set needs expiresAt')
      break
    case 'acme.remove':
      check(isStr(c.name), 'acme.remove needs a name')
      check(c.value === undefined || isStr(c.value), 'acme.remove value must be a string')
      break
    case 'settings.change': {
      const t = c.target as Record<string, unknown> | null
      check(typeof t === 'object' && t !== null && (t.kind === 'platform' || (t.kind === 'machine' && isStr(t.nodeId))), 'settings.change needs a target: platform, or machine with nodeId')
      check(c.set === undefined || (typeof c.set === 'object' && c.set !== null && !Array.isArray(c.set)), 'settings.change set must be an object')
      check(c.unset === undefined || (Array.isArray(c.unset) && c.unset.length <= 1000 && c.unset.every(isStr)), 'settings.change unset must be a list of keys')
      checkMessageAndOrigin(c)
      break
    }
    case 'release.apply': {
      const problem = releaseRecordProblem(c.release)
      check(problem === undefined, `release.apply: ${problem}`)
      const settings = c.settings as Record<string, unknown> | null
      check(isObject(settings) && isObject(settings.platform) && isObject(settings.machines) && Object.values(settings.machines).every(isObject), 'release.apply needs settings: platform and machines')
      checkMessageAndOrigin(c)
      break
    }
    case 'release.rollback':
      check(isStr(c.failed), 'release.rollback needs the digest of the failed release')
      check(c.automatic === undefined || typeof c.automatic === 'boolean', 'release.rollback automatic must be a boolean')
      checkMessageAndOrigin(c)
      break
    // ----- certificates -----
    case 'certs.lease':
      check(isTime(c.until) && isStr(c.reason), 'certs.lease needs until and reason')
      check(c.takeover === undefined || typeof c.takeover === 'boolean', 'certs.lease takeover must be a boolean')
      break
    case 'certs.progress': {
      const account = c.account === undefined ? undefined : accountRecordProblem(c.account)
      const order = c.order === undefined || c.order === null ? undefined : orderRecordProblem(c.order)
      check(account === undefined && order === undefined, `certs.progress: ${account ?? order}`)
      check(c.orderPlaced === undefined || typeof c.orderPlaced === 'boolean', 'certs.progress orderPlaced must be a boolean')
      check(c.until === undefined || isTime(c.until), 'certs.progress until must be a timestamp')
      break
    }
    case 'certs.done': {
      const problem = c.certificate !== undefined ? certificateRecordProblem(c.certificate) : c.error !== undefined ? attemptErrorProblem(c.error) : 'certs.done needs a certificate or an error'
      check(problem === undefined, `certs.done: ${problem}`)
      check(c.nextAttemptAt === undefined || isTime(c.nextAttemptAt), 'certs.done nextAttemptAt must be a timestamp')
      break
    }
    case 'certs.import': {
      const problem = certificateRecordProblem(c.certificate)
      check(problem === undefined, `certs.import: ${problem}`)
      break
    }
    default: {
      // The user registry's and the admin accounts' commands check their own fields (src/state/registry.ts,
      // admin.ts); anything else is unknown.
      const kind = typeof c.kind === 'string' ? c.kind : ''
      const problem = kind.startsWith('registry.') ? registryCommandProblem(c) : ADMIN_COMMAND_KINDS.has(kind) ? adminCommandProblem(c) : `unknown command kind ${JSON.stringify(c.kind)}`
      if (problem) throw new InvalidCommandError(problem)
    }
  }
  return raw as StampedCommand
}
