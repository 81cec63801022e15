import type { RrlKind } from './rrl.js'

/** A log line about rate limiting: a prefix started or stopped being limited, or lines were held back. */
export type RateLimitEvent =
  | { readonly event: 'start'; readonly prefix: string; readonly kind: RrlKind }
  | { readonly event: 'stop'; readonly prefix: string; readonly kinds: readonly RrlKind[]; readonly durationMs: number }
  | { readonly event: 'suppressed'; readonly prefixes: number }

interface Tracked {
  readonly sinceMs: number
  lastMs: number
  readonly kinds: Set<RrlKind>
  readonly logged: boolean
}

/**
 * Turns "this prefix is over the limit" reports into one line when a prefix starts being limited
 * and one when it has been quiet for `quietMs`. The lines are rate-limited too: at most
 * `maxStartsPerMinute` start lines a minute (a flood from spoofed random prefixes would otherwise
 * flood the log), the rest summed up in one 'suppressed' line; at most `maxTracked` prefixes.
 */
export class RateLimitLog {
  private readonly tracked = new Map<string, Tracked>()
  private windowStartMs = Number.NEGATIVE_INFINITY
  private startsInWindow = 0
  private suppressed = 0

  constructor(
    private readonly emit: (e: RateLimitEvent) => void,
    private readonly quietMs = 5000,
    private readonly maxStartsPerMinute = 20,
    private readonly maxTracked = 10_000
  ) {}

  /** Prefixes limited now (seen over the limit within `quietMs`). */
  get limitedPrefixes(): number {
    return this.tracked.size
  }

  limited(prefix: string, kind: RrlKind, nowMs: number): void {
    const t = this.tracked.get(prefix)
    if (t) {
      t.lastMs = nowMs
      t.kinds.add(kind)
      return
    }
    if (this.tracked.size >= this.maxTracked) {
      this.suppressed++
      return
    }
    if (nowMs - this.windowStartMs >= 60_000) {
      this.windowStartMs = nowMs
      this.startsInWindow = 0
    }
    const logged = this.startsInWindow < this.maxStartsPerMinute
    if (logged) {
      this.startsInWindow++
      this.emit({ event: 'start', prefix, kind })
    } else this.suppressed++
    this.tracked.set(prefix, { sinceMs: nowMs, lastMs: nowMs, kinds: new Set([kind]), logged })
  }

  /** Call about once a second: ends quiet prefixes, and reports held-back lines once a minute. */
  sweep(nowMs: number): void {
    for (const [prefix, t] of this.tracked) {
      if (nowMs - t.lastMs < this.quietMs) continue
      this.tracked.delete(prefix)
      if (t.logged) this.emit({ event: 'stop', prefix, kinds: [...t.kinds].sort(), durationMs: t.lastMs - t.sinceMs })
    }
    if (this.suppressed > 0 && nowMs - this.windowStartMs >= 60_000) {
      this.emit({ event: 'suppressed', prefixes: this.suppressed })
      this.suppressed = 0
      this.windowStartMs = nowMs
      this.startsInWindow = 0
    }
  }
}
