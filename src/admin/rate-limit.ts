/**
 * Failed logins counted per key (an account name, a source address) over a sliding window; once a
 * key reaches its limit, attempts are refused until its oldest failure leaves the window. Kept in
 * memory on each node.
 */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>()

  constructor(private readonly limit: number, private readonly windowMs: number) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfter(key: string, now: number): number {
    const recent = this.recent(key, now)
    return recent.length < this.limit ? 0 : recent[0]! + this.windowMs - now
  }

  fail(key: string, now: number): void {
    const recent = this.recent(key, now)
    recent.push(now)
    this.failures.set(key, recent)
    if (this.failures.size > 10_000) this.sweep(now)
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => now - t < this.windowMs)
  }

  private sweep(now: number): void {
    for (const [key, times] of this.failures) if (times.every((t) => now - t >= this.windowMs)) this.failures.delete(key)
  }
}
