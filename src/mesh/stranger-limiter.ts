import type { Multiaddr } from '@multiformats/multiaddr'

export interface StrangerLimits {
  /** Refusals from one source address tolerated within `windowMs`... */
  readonly refusals: number
  readonly windowMs: number
  /** ...beyond which that address is refused before any handshake for this long. */
  readonly blockMs: number
}

export const defaultStrangerLimits: StrangerLimits = { refusals: 5, windowMs: 60_000, blockMs: 60_000 }

/** Addresses tracked at most; the oldest are forgotten first, so a flood of sources cannot grow memory. */
const MAX_TRACKED = 4096

/**
 * Bounds how often peers that are refused (strangers, failed joins) may come back from one source
 * address. Pure: the caller passes the time.
 */
export class StrangerLimiter {
  private readonly seen = new Map<string, { refusedAt: number[], blockedUntil: number }>()

  constructor(private readonly limits: StrangerLimits = defaultStrangerLimits) {}

  /** Records a refusal of a peer from `address`; true if the address is now blocked. */
  refused(address: string, now: number): boolean {
    const entry = this.seen.get(address) ?? { refusedAt: [], blockedUntil: 0 }
    this.seen.delete(address)
    entry.refusedAt = entry.refusedAt.filter((t) => now - t < this.limits.windowMs)
    entry.refusedAt.push(now)
    if (entry.refusedAt.length >= this.limits.refusals) entry.blockedUntil = now + this.limits.blockMs
    this.seen.set(address, entry)
    if (this.seen.size > MAX_TRACKED) this.seen.delete(this.seen.keys().next().value as string)
    return entry.blockedUntil > now
  }

  blocked(address: string, now: number): boolean {
    return (this.seen.get(address)?.blockedUntil ?? 0) > now
  }
}

/** The IP address a multiaddr points at, or undefined for other kinds of address. */
export function hostOf(address: Multiaddr): string | undefined {
  return address.getComponents().find((c) => c.name === 'ip4' || c.name === 'ip6')?.value
}
