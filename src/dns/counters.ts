import { RCODE, TYPE } from './constants.js'
import { addRateLimitCounters, type RateLimitCountersSnapshot, replyRcode } from './rrl.js'
import type { TargetState } from './weighted.js'

/**
 * Metric labels come from a fixed set (plus OTHER): the QTYPE is read from packets, so naming
 * every number seen would let anyone who sends packets add up to 65,536 series to every scrape.
 * The set: the types this server serves or refuses by name, and the ones resolvers commonly ask.
 */
export const OTHER = 'other'
const TYPE_NAMES = new Map<number, string>([
  ...Object.entries(TYPE).map(([k, v]): [number, string] => [v, k]),
  ...Object.entries({ PTR: 12, NAPTR: 35, DS: 43, DNSKEY: 48, TLSA: 52, SVCB: 64, HTTPS: 65 }).map(([k, v]): [number, string] => [v, k])
])
const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([k, v]) => [v, k]))
/** Every label value queriesByType and responsesByRcode can hold. */
export const QTYPE_LABELS: ReadonlySet<string> = new Set([...TYPE_NAMES.values(), OTHER])
export const RCODE_LABELS: ReadonlySet<string> = new Set([...RCODE_NAMES.values(), OTHER])

/** Plain-data counter values, for a metrics endpoint (pryv_dns_*_total). */
export interface DnsCountersSnapshot {
  /** Parsed questions by QTYPE mnemonic ("A", "AAAA", "HTTPS"); types outside QTYPE_LABELS count as "other". */
  queriesByType: Record<string, number>
  /** Responses sent by RCODE mnemonic, BADVERS included ("NOERROR", "NXDOMAIN"); others count as "other". */
  responsesByRcode: Record<string, number>
  /** weighted name → target id → number of answers that contained the target. */
  weightedAnswers: Record<string, Record<string, number>>
  /** Requests not answered: runts, responses (QR=1), packets that threw. */
  dropped: number
  /** UDP replies sent with TC=1 because the answer did not fit (rate-limit slips are counted apart). */
  truncated: number
  /** TCP connections closed on arrival: their client address already had its share open. */
  tcpRefused?: number
  /** Response rate limiting: answers over the limit, slipped or dropped, by kind. */
  rateLimited?: RateLimitCountersSnapshot
}

/**
 * Hot-path counters: typed arrays indexed by number. Weighted targets get a slot each, by
 * counterKey, so counts survive zone recompiles and counting one is an array increment.
 */
export class DnsCounters {
  private readonly qtypes = new Float64Array(65536)
  private readonly rcodes = new Float64Array(4096)
  private readonly slots = new Map<string, number>()
  private targetCounts = new Float64Array(16)
  dropped = 0
  truncated = 0
  tcpRefused = 0

  query(qtype: number): void {
    this.qtypes[qtype]!++
  }

  response(rcode: number): void {
    this.rcodes[rcode]!++
  }

  /** A reply counted by respond() was not sent after all (rate limiting dropped it). */
  withdraw(reply: Buffer): void {
    this.rcodes[replyRcode(reply)]!--
    if ((reply[2]! & 0x02) !== 0) this.truncated--
  }

  /** One answer contained this target. */
  target(t: TargetState): void {
    if (t.counterOwner !== this) {
      t.counterOwner = this
      t.counterSlot = this.slotOf(t.counterKey)
    }
    this.targetCounts[t.counterSlot]!++
  }

  private slotOf(counterKey: string): number {
    let slot = this.slots.get(counterKey)
    if (slot === undefined) {
      slot = this.slots.size
      this.slots.set(counterKey, slot)
      if (slot >= this.targetCounts.length) {
        const grown = new Float64Array(this.targetCounts.length * 2)
        grown.set(this.targetCounts)
        this.targetCounts = grown
      }
    }
    return slot
  }

  snapshot(): DnsCountersSnapshot {
    const s: DnsCountersSnapshot = {
      queriesByType: {},
      responsesByRcode: {},
      weightedAnswers: {},
      dropped: this.dropped,
      truncated: this.truncated,
      tcpRefused: this.tcpRefused
    }
    this.qtypes.forEach((n, t) => {
      if (n > 0) addTo(s.queriesByType, TYPE_NAMES.get(t) ?? OTHER, n)
    })
    this.rcodes.forEach((n, r) => {
      if (n > 0) addTo(s.responsesByRcode, RCODE_NAMES.get(r) ?? OTHER, n)
    })
    for (const [key, slot] of this.slots) {
      const n = this.targetCounts[slot]!
      const sp = key.indexOf(' ')
      const name = key.slice(0, sp)
      s.weightedAnswers[name] ??= {}
      s.weightedAnswers[name][key.slice(sp + 1)] = n
    }
    return s
  }
}

function addTo(counts: Record<string, number>, label: string, n: number): void {
  counts[label] = (counts[label] ?? 0) + n
}

/** Sums snapshots (main thread + worker threads). */
export function addSnapshots(a: DnsCountersSnapshot, b: DnsCountersSnapshot): DnsCountersSnapshot {
  const sum = (x: Record<string, number>, y: Record<string, number>): Record<string, number> => {
    const out = { ...x }
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v
    return out
  }
  const weighted: Record<string, Record<string, number>> = { ...a.weightedAnswers }
  for (const [name, t] of Object.entries(b.weightedAnswers)) weighted[name] = sum(weighted[name] ?? {}, t)
  return {
    queriesByType: sum(a.queriesByType, b.queriesByType),
    responsesByRcode: sum(a.responsesByRcode, b.responsesByRcode),
    weightedAnswers: weighted,
    dropped: a.dropped + b.dropped,
    truncated: a.truncated + b.truncated,
    tcpRefused: (a.tcpRefused ?? 0) + (b.tcpRefused ?? 0),
    ...(a.rateLimited || b.rateLimited
      ? { rateLimited: a.rateLimited && b.rateLimited ? addRateLimitCounters(a.rateLimited, b.rateLimited) : (a.rateLimited ?? b.rateLimited) }
      : {})
  }
}
