import { BlockList, isIPv4 } from 'node:net'

/**
 * Response rate limiting (RRL) for UDP, as NSD, Knot and BIND do it: answers per second per
 * client prefix (/24, /64) and answer kind; of the answers over the limit, 1 in `slip` goes out
 * truncated (TC=1, no records) so that a real client behind the prefix retries over TCP, and the
 * rest are dropped. A spoofed flood then reflects at most `ratePerSecond` answers per second
 * per prefix, and slips no bigger than the query.
 *
 * The table is a fixed array of buckets indexed by a hash of (prefix, kind, name): no allocation
 * per packet, and memory bounded whatever the sources. A bucket whose tag differs is taken over
 * (as NSD does), so a collision can at worst give a limited client a fresh second.
 */
export interface RateLimitConfig {
  /** Answers per second per prefix and kind; 0 turns limiting off. */
  readonly ratePerSecond: number
  /** 1 in `slip` of the answers over the limit is sent truncated; 0 drops them all. */
  readonly slip: number
  readonly ipv4PrefixLength: number
  readonly ipv6PrefixLength: number
  /** Addresses or CIDR prefixes (e.g. a partner's resolvers) never limited. */
  readonly exempt: readonly string[]
}

/** NSD's defaults (rrl-ratelimit 200, rrl-slip 2, rrl-ipv4-prefix-length 24, rrl-ipv6-prefix-length 64). */
export const DEFAULT_RATE_LIMIT: RateLimitConfig = { ratePerSecond: 200, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 64, exempt: [] }

/**
 * Answer kinds counted apart (a flood for one name does not starve others). NOERROR answers and
 * NODATA are counted per name; NXDOMAIN per prefix (random names share one bucket); errors
 * (REFUSED, FORMERR, NOTIMP, BADVERS) per prefix. This server never sends referrals.
 */
export const RRL_KINDS = ['answer', 'nodata', 'nxdomain', 'error'] as const
export type RrlKind = (typeof RRL_KINDS)[number]
const KIND_ANSWER = 0
const KIND_NODATA = 1
const KIND_NXDOMAIN = 2
const KIND_ERROR = 3

export const RRL_SEND = 0
export const RRL_SLIP = 1
export const RRL_DROP = 2

export interface RateLimitCountersSnapshot {
  /** Answers over the limit sent truncated, by kind. */
  slipped: Record<RrlKind, number>
  /** Answers over the limit not sent, by kind. */
  dropped: Record<RrlKind, number>
  /** Answers over the limit sent anyway because the client is exempt. */
  exempted: number
}

export function emptyRateLimitCounters(): RateLimitCountersSnapshot {
  return { slipped: { answer: 0, nodata: 0, nxdomain: 0, error: 0 }, dropped: { answer: 0, nodata: 0, nxdomain: 0, error: 0 }, exempted: 0 }
}

export function addRateLimitCounters(a: RateLimitCountersSnapshot, b: RateLimitCountersSnapshot): RateLimitCountersSnapshot {
  const out = emptyRateLimitCounters()
  for (const k of RRL_KINDS) {
    out.slipped[k] = a.slipped[k] + b.slipped[k]
    out.dropped[k] = a.dropped[k] + b.dropped[k]
  }
  out.exempted = a.exempted + b.exempted
  return out
}

/** Called when a prefix is over the limit: at most once a second per bucket, and 100 times a second in all. */
export type OnLimited = (prefix: string, kind: RrlKind) => void

/**
 * The limiter's default clock: Date.now() read every 50 ms, not per packet (Date.now() costs
 * ~150 ns on this project's VMs, a third of the limiter's cost). Buckets refill in 50 ms steps,
 * which over a second adds up to the same rate.
 */
let coarseMs = Date.now()
let coarseTimer: NodeJS.Timeout | undefined
function coarseClock(): number {
  return coarseMs
}
function startCoarseClock(): void {
  if (coarseTimer !== undefined) return
  coarseMs = Date.now()
  coarseTimer = setInterval(() => {
    coarseMs = Date.now()
  }, 50)
  coarseTimer.unref()
}

const DEFAULT_TABLE_BITS = 17
const MAX_REPORTS_PER_SECOND = 100

export class RateLimiter {
  private config_: RateLimitConfig = DEFAULT_RATE_LIMIT
  private exempt: BlockList | null = null
  private readonly mask: number
  private readonly tags: Int32Array
  private readonly tokens: Float64Array
  private readonly stamps: Float64Array
  private readonly slips: Int32Array
  private readonly reported: Float64Array
  private readonly v6 = new Uint16Array(8)
  private readonly slipped = new Float64Array(RRL_KINDS.length)
  private readonly dropped = new Float64Array(RRL_KINDS.length)
  private exempted = 0
  private reportSecond = 0
  private reportsThisSecond = 0

  constructor(
    config: RateLimitConfig = DEFAULT_RATE_LIMIT,
    private readonly now: () => number = coarseClock,
    private readonly onLimited: OnLimited = () => {},
    tableBits = DEFAULT_TABLE_BITS
  ) {
    if (now === coarseClock) startCoarseClock()
    const size = 1 << tableBits
    this.mask = size - 1
    this.tags = new Int32Array(size)
    this.tokens = new Float64Array(size)
    this.stamps = new Float64Array(size)
    this.slips = new Int32Array(size)
    this.reported = new Float64Array(size)
    this.configure(config)
  }

  get active(): boolean {
    return this.config_.ratePerSecond > 0
  }

  get config(): RateLimitConfig {
    return this.config_
  }

  /** New limits apply from the next packet; buckets keep their state. */
  configure(config: RateLimitConfig): void {
    this.exempt = config.exempt.length > 0 ? exemptList(config.exempt) : null
    this.config_ = config
  }

  /**
   * What to do with a UDP reply about to be sent to `address`: RRL_SEND, RRL_SLIP (send
   * slipReply(reply) instead) or RRL_DROP. Synchronous and allocation-free below the limit.
   */
  check(address: string, reply: Buffer): number {
    const { ratePerSecond: rate } = this.config_
    const kind = kindOf(reply)
    let h = this.hashPrefix(address)
    h = Math.imul(h ^ (kind + 1), 0x01000193)
    if (kind <= KIND_NODATA) h = hashName(h, reply)
    h |= 1
    const i = h & this.mask
    const now = this.now()
    if (this.tags[i] !== h) {
      this.tags[i] = h
      this.tokens[i] = rate
      this.slips[i] = 0
      this.reported[i] = Number.NEGATIVE_INFINITY
    } else {
      const t = this.tokens[i]! + ((now - this.stamps[i]!) * rate) / 1000
      this.tokens[i] = Math.min(t, rate)
    }
    this.stamps[i] = now
    if (this.tokens[i]! >= 1) {
      this.tokens[i]!--
      return RRL_SEND
    }
    if (this.exempt?.check(address, isIPv4(address) ? 'ipv4' : 'ipv6')) {
      this.exempted++
      return RRL_SEND
    }
    if (now - this.reported[i]! >= 1000) {
      this.reported[i] = now
      this.report(address, kind, now)
    }
    const slip = this.config_.slip
    if (slip > 0 && ++this.slips[i]! >= slip) {
      this.slips[i] = 0
      this.slipped[kind]!++
      return RRL_SLIP
    }
    this.dropped[kind]!++
    return RRL_DROP
  }

  snapshot(): RateLimitCountersSnapshot {
    const s = emptyRateLimitCounters()
    RRL_KINDS.forEach((k, i) => {
      s.slipped[k] = this.slipped[i]!
      s.dropped[k] = this.dropped[i]!
    })
    s.exempted = this.exempted
    return s
  }

  private report(address: string, kind: number, now: number): void {
    const second = Math.floor(now / 1000)
    if (second !== this.reportSecond) {
      this.reportSecond = second
      this.reportsThisSecond = 0
    }
    if (this.reportsThisSecond++ >= MAX_REPORTS_PER_SECOND) return
    this.onLimited(prefixText(address, this.config_), RRL_KINDS[kind]!)
  }

  /** FNV-1a over the address masked to its prefix, parsed from the string without allocating. */
  private hashPrefix(address: string): number {
    let h = 0x811c9dc5
    if (isDottedQuad(address)) {
      const bits = this.config_.ipv4PrefixLength
      const v = parseIpv4(address, 0, address.length)
      const masked = bits === 0 ? 0 : (v & (-1 << (32 - bits))) >>> 0
      return Math.imul(h ^ masked, 0x01000193)
    }
    const g = this.v6
    parseIpv6(address, g)
    let bits = this.config_.ipv6PrefixLength
    for (let w = 0; w < 8; w++) {
      const keep = bits >= 16 ? 0xffff : bits <= 0 ? 0 : (0xffff << (16 - bits)) & 0xffff
      h = Math.imul(h ^ (g[w]! & keep) ^ 0x6000, 0x01000193)
      bits -= 16
    }
    return h
  }
}

/** The reply to send instead of an answer over the limit: header and question, TC=1, no records. */
export function slipReply(reply: Buffer): Buffer {
  const qEnd = questionEnd(reply)
  const out = reply.subarray(0, qEnd)
  out[2]! |= 0x02
  out.fill(0, 6, 12)
  return out
}

function questionEnd(reply: Buffer): number {
  if (reply[4] !== 0 || reply[5] !== 1) return 12
  let p = 12
  while (p < reply.length && reply[p] !== 0) p += 1 + reply[p]!
  return Math.min(p + 5, reply.length)
}

/** Kind of a reply we built: BADVERS counts as an error. */
function kindOf(reply: Buffer): number {
  const rcode = replyRcode(reply)
  if (rcode === 3) return KIND_NXDOMAIN
  if (rcode !== 0) return KIND_ERROR
  return reply[6] === 0 && reply[7] === 0 ? KIND_NODATA : KIND_ANSWER
}

/**
 * The full rcode of a reply this server built: our replies put the OPT last (respond.ts
 * appendOpt), and the first octet of its TTL is the extended rcode (RFC 6891 §6.1.3).
 */
export function replyRcode(reply: Buffer): number {
  const rcode = reply[3]! & 0x0f
  const n = reply.length
  if ((reply[10] === 0 && reply[11] === 0) || n < 23) return rcode
  return reply[n - 11] === 0 && reply[n - 10] === 0 && reply[n - 9] === 41 ? (reply[n - 6]! << 4) | rcode : rcode
}

/** Folds the question name of a reply, ASCII lower-cased, into the hash. */
function hashName(h: number, reply: Buffer): number {
  const end = Math.min(reply.length, 12 + 255)
  for (let p = 12; p < end; p++) {
    let c = reply[p]!
    if (c >= 0x41 && c <= 0x5a) c |= 0x20
    h = Math.imul(h ^ c, 0x01000193)
    if (c === 0) break
  }
  return h
}

function isDottedQuad(address: string): boolean {
  // IPv4 literals from dgram are never longer than 15 and have no ':'.
  return address.length <= 15 && address.charCodeAt(1) !== 58 && address.indexOf(':') < 0
}

/** Parses the dotted quad s[start, end) into a uint32. */
function parseIpv4(s: string, start: number, end: number): number {
  let v = 0
  let octet = 0
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) {
      v = (v << 8) | octet
      octet = 0
    } else octet = octet * 10 + (c - 48)
  }
  return ((v << 8) | octet) >>> 0
}

/** Groups before and after a `::`, filled by parseIpv6 (module state: no closure per packet). */
const v6Head = new Uint16Array(8)
const v6Tail = new Uint16Array(8)
let nHead = 0
let nTail = 0
let inTail = false

function putGroup(v: number): void {
  if (!inTail) {
    if (nHead < 8) v6Head[nHead++] = v
  } else if (nTail < 8) v6Tail[nTail++] = v
}

/** Parses an IPv6 literal (with `::` and an embedded dotted quad) into 8 groups; a zone id ends it. */
function parseIpv6(s: string, out: Uint16Array): void {
  out.fill(0)
  let end = s.indexOf('%')
  if (end < 0) end = s.length
  nHead = 0
  nTail = 0
  inTail = false
  let group = 0
  let digits = 0
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i)
    if (c === 58) {
      if (digits > 0) putGroup(group)
      if (i + 1 < end && s.charCodeAt(i + 1) === 58) {
        inTail = true
        i++
      }
      group = 0
      digits = 0
    } else if (c === 46) {
      const v = parseIpv4(s, s.lastIndexOf(':', end) + 1, end)
      putGroup(v >>> 16)
      putGroup(v & 0xffff)
      digits = 0
      break
    } else {
      group = ((group << 4) | hexValue(c)) & 0xffff
      digits++
    }
  }
  if (digits > 0) putGroup(group)
  for (let i = 0; i < nHead; i++) out[i] = v6Head[i]!
  for (let i = 0; i < nTail && nHead + nTail <= 8; i++) out[8 - nTail + i] = v6Tail[i]!
}

function hexValue(c: number): number {
  if (c <= 57) return c - 48
  return (c | 0x20) - 87
}

/** "127.0.99.0/24", "2001:db8:0:0:0:0:0:0/64": the prefix an address is limited as, for logs. */
export function prefixText(address: string, config: Pick<RateLimitConfig, 'ipv4PrefixLength' | 'ipv6PrefixLength'>): string {
  if (isDottedQuad(address)) {
    const bits = config.ipv4PrefixLength
    const v = bits === 0 ? 0 : (parseIpv4(address, 0, address.length) & (-1 << (32 - bits))) >>> 0
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}/${bits}`
  }
  const g = new Uint16Array(8)
  parseIpv6(address, g)
  let bits = config.ipv6PrefixLength
  const groups: string[] = []
  for (let w = 0; w < 8; w++) {
    const keep = bits >= 16 ? 0xffff : bits <= 0 ? 0 : (0xffff << (16 - bits)) & 0xffff
    groups.push((g[w]! & keep).toString(16))
    bits -= 16
  }
  return `${groups.join(':')}/${config.ipv6PrefixLength}`
}

/** Exempt addresses and prefixes ("192.0.2.53", "198.51.100.0/24", "2001:db8::/48"). */
export function exemptList(entries: readonly string[]): BlockList {
  const list = new BlockList()
  for (const e of entries) {
    const [ip, len] = e.split('/') as [string, string | undefined]
    const family = isIPv4(ip) ? 'ipv4' : 'ipv6'
    if (len === undefined) list.addAddress(ip, family)
    else list.addSubnet(ip, Number(len), family)
  }
  return list
}
