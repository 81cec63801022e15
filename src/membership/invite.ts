import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { ExitCode, OperatorError } from '../errors.js'
import type { MemberRole } from '../state/types.js'

/**
 * An invite is one pasteable line: `pryv2.<base64url JSON>.<checksum>`.
 * It carries what a new machine needs to reach the platform's join endpoints and redeem it: the token
 * is its only secret (`describeInvite` never shows it, members store only its hash). It does not carry
 * the platform key: a member hands that over inside the (noise-encrypted) join reply, once the join is
 * committed, so an invite that is used, expired or revoked opens nothing.
 */
export interface Invite {
  readonly platformId: string
  readonly domain: string
  /** Join endpoints of full members, each ending in /p2p/<PeerId> so the joiner pins who it talks to. */
  readonly addresses: readonly string[]
  readonly inviteId: string
  /** Secret. */
  readonly token: string
  /** Milliseconds since the epoch. */
  readonly expiresAt: number
  readonly role: MemberRole
}

const PREFIX = 'pryv2.'
/** Invites of versions before 0.2: they carried the platform key, and members no longer redeem them. */
const OLD_PREFIX = 'pryv1.'
const CHECKSUM_LENGTH = 8

export function encodeInvite(invite: Invite): string {
  const payload = Buffer.from(JSON.stringify({
    p: invite.platformId,
    d: invite.domain,
    a: invite.addresses,
    i: invite.inviteId,
    t: invite.token,
    e: invite.expiresAt,
    r: invite.role
  })).toString('base64url')
  return `${PREFIX}${payload}.${checksum(payload)}`
}

function malformed(reason: string): OperatorError {
  return new OperatorError('PRYV_INVITE_MALFORMED', `The invite is not valid: ${reason}.`, {
    hint: 'Copy the whole invite line again (it starts with "pryv2."), or create a new one on a member with `pryv-node invite create`.',
    exitCode: ExitCode.invalidInput
  })
}

export function decodeInvite(text: string): Invite {
  const line = text.trim()
  if (line.startsWith(OLD_PREFIX)) {
    throw new OperatorError('PRYV_INVITE_OUTDATED', 'This invite has the old format ("pryv1."), which members no longer accept: it carried the platform key itself.', {
      hint: 'Create a new invite on a member with `pryv-node invite create` and use that one.',
      exitCode: ExitCode.invalidInput
    })
  }
  if (!line.startsWith(PREFIX)) throw malformed('it does not start with "pryv2."')
  const body = line.slice(PREFIX.length)
  const dot = body.lastIndexOf('.')
  if (dot < 0) throw malformed('it has no checksum part (it may have been cut short)')
  const payload = body.slice(0, dot)
  if (checksum(payload) !== body.slice(dot + 1)) throw malformed('its checksum does not match (it was changed or copied incompletely)')
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    throw malformed('its content cannot be read')
  }
  if (typeof raw !== 'object' || raw === null) throw malformed('its content is not an object')
  const str = (key: string, what: string): string => {
    const v = raw[key]
    if (typeof v !== 'string' || v.length === 0) throw malformed(`${what} is missing`)
    return v
  }
  const addresses = raw.a
  if (!Array.isArray(addresses) || addresses.length === 0 || !addresses.every((a) => typeof a === 'string')) {
    throw malformed('it names no member address')
  }
  for (const a of addresses as string[]) {
    try {
      if (multiaddr(a).getComponents().at(-1)?.name !== 'p2p') throw new Error('no peer id')
    } catch {
      throw malformed(`the address "${a}" is not a multiaddr ending in /p2p/<PeerId>`)
    }
  }
  const expiresAt = raw.e
  if (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt)) throw malformed('its expiry is missing')
  const role = raw.r
  if (role !== 'full' && role !== 'observer') throw malformed('its role is neither "full" nor "observer"')
  return {
    platformId: str('p', 'the platform id'),
    domain: str('d', 'the platform domain'),
    addresses: addresses as string[],
    inviteId: str('i', 'the invite id'),
    token: str('t', 'the invite token'),
    expiresAt,
    role
  }
}

/** Everything an operator may see about an invite: all but its token. */
export function describeInvite(invite: Invite, now: number): Record<string, unknown> {
  return {
    platformId: invite.platformId,
    domain: invite.domain,
    inviteId: invite.inviteId,
    role: invite.role,
    expiresAt: new Date(invite.expiresAt).toISOString(),
    expired: invite.expiresAt <= now,
    addresses: invite.addresses
  }
}

function checksum(payload: string): string {
  return createHash('sha256').update(payload).digest('base64url').slice(0, CHECKSUM_LENGTH)
}

export function newInviteSecret(): { inviteId: string, token: string, tokenHash: string } {
  const token = randomBytes(32).toString('base64url')
  return { inviteId: randomBytes(6).toString('hex'), token, tokenHash: hashInviteToken(token) }
}

export function hashInviteToken(token: string): string {
  return createHash('sha256').update(`pryv-invite-token:${token}`).digest('hex')
}

export function tokenMatches(token: string, tokenHash: string): boolean {
  const a = Buffer.from(hashInviteToken(token), 'hex')
  const b = Buffer.from(tokenHash, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}
