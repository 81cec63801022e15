import { createHash, randomBytes, scrypt, timingSafeEqual } from 'node:crypto'
import { promisify } from 'node:util'

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number, r: number, p: number, maxmem: number }) => Promise<Buffer>

// OWASP's scrypt floor (N=2^17 is its first choice; 2^15 keeps a login near 50 ms on a small machine).
const N = 32768
const R = 8
const P = 1
const KEY_LENGTH = 32
const MAXMEM = 64 * 1024 * 1024

export const PASSWORD_MIN = 12
export const PASSWORD_MAX = 1024

/** `scrypt$N$r$p$salt$key`, base64url. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, KEY_LENGTH, { N, r: R, p: P, maxmem: MAXMEM })
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64url')}$${key.toString('base64url')}`
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !key) return false
  const expected = Buffer.from(key, 'base64url')
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: MAXMEM })
  return timingSafeEqual(actual, expected)
}

let dummy: Promise<string> | undefined
/** A hash to check against when the account does not exist: the answer takes as long either way. */
export function dummyPasswordHash(): Promise<string> {
  dummy ??= hashPassword(randomBytes(16).toString('hex'))
  return dummy
}

/** A random id for tokens and links (12 characters of base64url). */
export function newId(): string {
  return randomBytes(9).toString('base64url')
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url')
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex')
  const b = Buffer.from(hash, 'hex')
  return a.length === b.length && timingSafeEqual(a, b)
}

/** `<prefix><id>.<secret>` → its parts, or undefined. */
export function splitCredential(text: string, prefix: string): { id: string, secret: string } | undefined {
  if (!text.startsWith(prefix)) return undefined
  const m = /^([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{20,128})$/.exec(text.slice(prefix.length))
  return m ? { id: m[1]!, secret: m[2]! } : undefined
}
