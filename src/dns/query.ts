/** Parsed header and question of one request; one instance is reused for every packet. */
export interface Query {
  /** Offset just after the qname's root octet. */
  qnameEnd: number
  /** Offset just after QTYPE/QCLASS. */
  qEnd: number
  qtype: number
  qclass: number
  /** Lower-case wire qname as a latin1 string (see names.ts wireKey). */
  key: string
  labels: number
  /** Offset of each label of the qname relative to 12, for zone-cut checks. */
  readonly labelStarts: Int32Array
  edns: boolean
  udpSize: number
  ednsVersion: number
  /** DNSSEC OK bit, echoed in our OPT (RFC 3225 §3). */
  dnssecOk: boolean
}

export function newQuery(): Query {
  return {
    qnameEnd: 0,
    qEnd: 0,
    qtype: 0,
    qclass: 0,
    key: '',
    labels: 0,
    labelStarts: new Int32Array(128),
    edns: false,
    udpSize: 0,
    ednsVersion: 0,
    dnssecOk: false
  }
}

/** Outcomes of parseQuery, in validation order (dns-notes.md §8.4). */
export const PARSE_OK = 0
/** Runt or a response (QR=1): never answered (reflection loops). */
export const PARSE_DROP = 1
/** Opcode other than QUERY: NOTIMP, no question echoed. */
export const PARSE_NOTIMP = 2
/** The question could not be read: FORMERR with no question. */
export const PARSE_FORMERR_NO_QUESTION = 3
/** The question is fine but the rest is not: FORMERR echoing the question. */
export const PARSE_FORMERR = 4

const scratch = Buffer.alloc(256)

type Latin1Slicer = { latin1Slice?: (start: number, end: number) => string }
/** Buffer#latin1Slice skips toString()'s encoding dispatch; it is undocumented, so fall back. */
const latin1: (b: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as Latin1Slicer).latin1Slice === 'function'
    ? (b, start, end) => (b as Latin1Slicer).latin1Slice!(start, end)
    : (b, start, end) => b.toString('latin1', start, end)

/** Validates a request without allocating anything but the key string. */
export function parseQuery(msg: Buffer, q: Query): number {
  const len = msg.length
  if (len < 12 || (msg[2]! & 0x80) !== 0) return PARSE_DROP
  if ((msg[2]! & 0x78) !== 0) return PARSE_NOTIMP
  if (msg[4] !== 0 || msg[5] !== 1) return PARSE_FORMERR_NO_QUESTION
  let off = 12
  let upper = false
  let high = false
  let labels = 0
  for (;;) {
    if (off >= len) return PARSE_FORMERR_NO_QUESTION
    const l = msg[off]!
    if (l === 0) break
    // RFC 1035 §4.1.4: a question name has nothing to point back to; 0x40/0x80 are unused label types.
    if (l > 63 || labels === 127) return PARSE_FORMERR_NO_QUESTION
    q.labelStarts[labels++] = off - 12
    const end = off + 1 + l
    if (end > len) return PARSE_FORMERR_NO_QUESTION
    for (let i = off + 1; i < end; i++) {
      const c = msg[i]!
      if (c >= 0x41 && c <= 0x5a) upper = true
      else if (c >= 0x80) high = true
    }
    off = end
  }
  off++
  if (off - 12 > 255 || off + 4 > len) return PARSE_FORMERR_NO_QUESTION
  q.qnameEnd = off
  q.labels = labels
  q.qtype = (msg[off]! << 8) | msg[off + 1]!
  q.qclass = (msg[off + 2]! << 8) | msg[off + 3]!
  q.qEnd = off + 4
  if (high) {
    // toLowerCase() would also fold latin1 letters; DNS folds ASCII only (RFC 4343 §3).
    for (let i = 12; i < off; i++) {
      const c = msg[i]!
      scratch[i - 12] = c >= 0x41 && c <= 0x5a ? c | 0x20 : c
    }
    q.key = latin1(scratch, 0, off - 12)
  } else {
    const k = latin1(msg, 12, off)
    q.key = upper ? k.toLowerCase() : k
  }
  q.edns = false
  q.dnssecOk = false
  if (msg[6] !== 0 || msg[7] !== 0 || msg[8] !== 0 || msg[9] !== 0) return PARSE_FORMERR
  let p = q.qEnd
  const ar = (msg[10]! << 8) | msg[11]!
  for (let i = 0; i < ar; i++) {
    const start = p
    p = skipName(msg, p)
    if (p < 0 || p + 10 > len) return PARSE_FORMERR
    const type = (msg[p]! << 8) | msg[p + 1]!
    if (type === 41) {
      // RFC 6891 §6.1.1: one OPT, owned by the root.
      if (q.edns || p !== start + 1) return PARSE_FORMERR
      q.edns = true
      q.udpSize = (msg[p + 2]! << 8) | msg[p + 3]!
      q.ednsVersion = msg[p + 5]!
      q.dnssecOk = (msg[p + 6]! & 0x80) !== 0
    }
    p += 10 + ((msg[p + 8]! << 8) | msg[p + 9]!)
    if (p > len) return PARSE_FORMERR
  }
  return p === len ? PARSE_OK : PARSE_FORMERR
}

/** Offset after a possibly compressed name, or -1. */
function skipName(msg: Buffer, start: number): number {
  let p = start
  for (let n = 0; n < 128; n++) {
    if (p >= msg.length) return -1
    const l = msg[p]!
    if (l === 0) return p + 1
    if ((l & 0xc0) === 0xc0) return p + 2 <= msg.length ? p + 2 : -1
    if (l > 63) return -1
    p += 1 + l
  }
  return -1
}
