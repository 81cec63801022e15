/** When to renew and when to try again: pure, the caller passes the time and the randomness. */

const DAY_MS = 86_400_000

/**
 * When a certificate is due: fewer than `renewBeforeDays` left, or a third of its lifetime left for
 * short-lived certificates (whichever leaves less), like Caddy's "two thirds of the lifetime".
 */
export function renewAt(cert: { notBefore: number, notAfter: number }, renewBeforeDays: number): number {
  const lifetime = Math.max(0, cert.notAfter - cert.notBefore)
  return cert.notAfter - Math.min(renewBeforeDays * DAY_MS, lifetime / 3)
}

export const BACKOFF_BASE_MS = 5_000
export const BACKOFF_MAX_MS = 6 * 3_600_000

/**
 * Delay before the next attempt after `failures` consecutive failures: exponential from 5 s up to
 * 6 h, with ±25 % jitter so that nodes and platforms do not retry in step; never before the ACME
 * server's Retry-After.
 */
export function retryDelayMs(failures: number, random: number, retryAfterMs?: number): number {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, failures - 1))
  const jittered = Math.round(exp * (0.75 + random * 0.5))
  return Math.max(jittered, retryAfterMs ?? 0)
}

/** A Retry-After header (seconds or an HTTP date) in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string' && typeof value !== 'number') return undefined
  const text = String(value).trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Days left, rounded down (negative once expired). */
export function daysLeft(notAfter: number, now: number): number {
  return Math.floor((notAfter - now) / DAY_MS)
}

/** An expiry closer than this is a warning on every `status`. */
export const EXPIRY_WARNING_MS = 7 * DAY_MS
