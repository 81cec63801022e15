import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Sessions are signed cookies, not server records: every member derives the same signing key from
 * the platform key, so any node accepts a session made on another. A session names its account and
 * the account's session epoch; logout and password changes bump the epoch in the replicated state,
 * which ends every older session on every node.
 */
export interface Session {
  /** account name */
  readonly account: string
  readonly epoch: number
  /** random id: the CSRF token is derived from it */
  readonly sid: string
  readonly issuedAt: number
  readonly lastSeen: number
}

export const IDLE_MS = 30 * 60_000
export const ABSOLUTE_MS = 12 * 3_600_000
/** A session's lastSeen is refreshed (a new cookie) at most this often. */
export const REFRESH_MS = 60_000

export function sessionKey(platformKeyHex: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(platformKeyHex, 'hex'), 'pryv-node', 'admin sessions v1', 32))
}

export function newSession(account: string, epoch: number, now: number): Session {
  return { account, epoch, sid: randomBytes(12).toString('base64url'), issuedAt: now, lastSeen: now }
}

export function encodeSession(key: Buffer, s: Session): string {
  const body = Buffer.from(JSON.stringify([s.account, s.epoch, s.sid, s.issuedAt, s.lastSeen])).toString('base64url')
  return `${body}.${mac(key, `session:${body}`)}`
}

/** The session a cookie holds when its signature is right and it has not expired (idle or absolute). */
export function decodeSession(key: Buffer, cookie: string, now: number): Session | undefined {
  const [body, sig] = cookie.split('.')
  if (!body || !sig || !equal(sig, mac(key, `session:${body}`))) return undefined
  let parts: unknown
  try {
    parts = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'))
  } catch {
    return undefined
  }
  if (!Array.isArray(parts) || parts.length !== 5) return undefined
  const [account, epoch, sid, issuedAt, lastSeen] = parts as [string, number, string, number, number]
  if (now - issuedAt > ABSOLUTE_MS || now - lastSeen > IDLE_MS) return undefined
  return { account, epoch, sid, issuedAt, lastSeen }
}

export function csrfToken(key: Buffer, sid: string): string {
  return mac(key, `csrf:${sid}`)
}

export function csrfMatches(key: Buffer, sid: string, token: string | undefined): boolean {
  return token !== undefined && equal(token, csrfToken(key, sid))
}

function mac(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text).digest('base64url')
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
