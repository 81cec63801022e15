import { type Answer, type FragmentAnswer, KIND_FRAGMENT, KIND_PACKET, type WeightedAnswer } from './answers.js'
import type { CompiledZone } from './zone.js'
import { MAX_WEIGHTED_TARGETS, RCODE, TYPE } from './constants.js'
import type { DnsCounters } from './counters.js'
import {
  newQuery,
  PARSE_DROP,
  PARSE_FORMERR,
  PARSE_FORMERR_NO_QUESTION,
  PARSE_NOTIMP,
  parseQuery,
  type Query
} from './query.js'
import { selectTargets } from './weighted.js'

/** What one request path needs; owned by the server, read per packet. */
export interface RespondContext {
  zone: CompiledZone
  random: () => number
  counters: DnsCounters
  /** Our EDNS payload size: advertised, and the cap on UDP replies (RFC 6891 §6.2.5). */
  maxUdpPayload: number
}

const OPT_LEN = 11
const q: Query = newQuery()
const picks = new Int32Array(MAX_WEIGHTED_TARGETS)

/**
 * Synchronous request path: validate, look up the compiled answer, copy it, patch ID, flags,
 * the question (asked case, RFC 4343 §4) and OPT. Returns null when nothing must be sent.
 */
export function respond(msg: Buffer, tcp: boolean, ctx: RespondContext): Buffer | null {
  const r = parseQuery(msg, q)
  const { counters } = ctx
  if (r === PARSE_DROP) {
    counters.dropped++
    return null
  }
  if (r === PARSE_NOTIMP) return headerOnly(msg, RCODE.NOTIMP, counters)
  if (r === PARSE_FORMERR_NO_QUESTION) return headerOnly(msg, RCODE.FORMERR, counters)
  counters.query(q.qtype)
  if (r === PARSE_FORMERR) {
    q.edns = false
    return withQuestion(msg, RCODE.FORMERR, ctx)
  }
  // RFC 6891 §6.1.3: BADVERS is extended rcode 1 in the OPT, header rcode 0.
  if (q.edns && q.ednsVersion !== 0) return withQuestion(msg, RCODE.BADVERS, ctx)
  const qtype = q.qtype
  if (q.qclass !== 1 || qtype === TYPE.AXFR || qtype === TYPE.IXFR) return withQuestion(msg, RCODE.REFUSED, ctx)
  const key = q.key
  let zone: CompiledZone | undefined = ctx.zone
  if (!inZone(key, zone)) {
    zone = aliasOf(key, zone)
    if (zone === undefined) return withQuestion(msg, RCODE.REFUSED, ctx)
  }
  served = zone
  const limit = tcp ? 65535 : q.edns ? Math.min(Math.max(q.udpSize, 512), ctx.maxUdpPayload) : 512
  const entry = zone.names.get(key)
  let ans: Answer
  if (entry !== undefined && !entry.ent) {
    ans = qtype === TYPE.ANY ? entry.any : (entry.types.get(qtype) ?? entry.fallback)
  } else {
    const core = q.labels === zone.apexLabels + 1 ? zone.userCore(key) : undefined
    if (core !== undefined) ans = zone.userAnswer(core, qtype)
    else if (entry !== undefined) ans = entry.fallback
    else ans = zone.nxdomain
  }
  if (ans.kind === KIND_PACKET) {
    const optLen = q.edns ? OPT_LEN : 0
    const p = ans.packet
    let len = p.length
    if (len + optLen > limit) {
      // RFC 2181 §9: drop the additional section before resorting to TC.
      if (ans.noAdditionalLen + optLen > limit) return truncated(msg, ans.rcode, ctx)
      len = ans.noAdditionalLen
    }
    const out = Buffer.allocUnsafe(len + optLen)
    if (len === p.length) out.set(p)
    else p.copy(out, 0, 0, len)
    copyQuestion(out, msg)
    setFlags(out, msg, ans.rcode, true, false)
    if (len < p.length) put16(out, 10, 0)
    if (optLen > 0) appendOpt(out, len, 0, ctx.maxUdpPayload)
    counters.response(ans.rcode)
    return out
  }
  if (ans.kind === KIND_FRAGMENT) return fragment(msg, ans, limit, ctx)
  return weighted(msg, ans, limit, ctx)
}

/** The zone a packet is answered from (the main one or an alias), for the helpers below. */
let served: CompiledZone

function inZone(key: string, zone: CompiledZone): boolean {
  const apexKey = zone.apexKey
  return key.endsWith(apexKey) && atLabelBoundary(key.length - apexKey.length)
}

/** The alias domain (dns.aliasDomains) the name is in, if any: only names outside the main zone look. */
function aliasOf(key: string, zone: CompiledZone): CompiledZone | undefined {
  for (const alias of zone.aliases) if (inZone(key, alias)) return alias
  return undefined
}

function atLabelBoundary(cut: number): boolean {
  if (cut === 0) return true
  for (let i = 0; i < q.labels; i++) if (q.labelStarts[i] === cut) return true
  return false
}

function fragment(msg: Buffer, ans: FragmentAnswer, limit: number, ctx: RespondContext): Buffer {
  const optLen = q.edns ? OPT_LEN : 0
  const qEnd = q.qEnd
  let bodyLen = ans.body.length
  let ar = ans.ar
  if (qEnd + bodyLen + optLen > limit) {
    if (qEnd + ans.noAdditionalLen + optLen > limit) return truncated(msg, ans.rcode, ctx)
    bodyLen = ans.noAdditionalLen
    ar = 0
  }
  const out = Buffer.allocUnsafe(qEnd + bodyLen + optLen)
  copyQuestion(out, msg)
  setFlags(out, msg, ans.rcode, true, false)
  put16(out, 6, ans.an)
  put16(out, 8, ans.ns)
  put16(out, 10, ar)
  if (bodyLen === ans.body.length) out.set(ans.body, qEnd)
  else ans.body.copy(out, qEnd, 0, bodyLen)
  relocate(out, ans.bodyRelocs, qEnd, qEnd, bodyLen)
  relocate(out, ans.apexRelocs, q.qnameEnd - served.apexKey.length, qEnd, bodyLen)
  if (optLen > 0) appendOpt(out, qEnd + bodyLen, 0, ctx.maxUdpPayload)
  ctx.counters.response(ans.rcode)
  return out
}

function relocate(out: Buffer, relocs: Uint16Array, base: number, qEnd: number, bodyLen: number): void {
  for (let i = 0; i < relocs.length; i += 2) {
    const pos = relocs[i]!
    if (pos < bodyLen) put16(out, qEnd + pos, 0xc000 | (base + relocs[i + 1]!))
  }
}

function weighted(msg: Buffer, ans: WeightedAnswer, limit: number, ctx: RespondContext): Buffer {
  const { set, family } = ans
  const n = selectTargets(set, family, ctx.random, picks)
  if (n === 0) return fragment(msg, served.nodata, limit, ctx)
  const optLen = q.edns ? OPT_LEN : 0
  let len = ans.prefix.length
  let an = ans.an
  for (let i = 0; i < n; i++) {
    const t = set.targets[picks[i]!]!
    len += t.rrs[family].length
    an += t.rrCount[family]
  }
  if (len + optLen > limit) return truncated(msg, 0, ctx)
  const out = Buffer.allocUnsafe(len + optLen)
  out.set(ans.prefix)
  copyQuestion(out, msg)
  setFlags(out, msg, 0, true, false)
  put16(out, 6, an)
  let pos = ans.prefix.length
  const stride = family === 0 ? 16 : 28
  for (let i = 0; i < n; i++) {
    const t = set.targets[picks[i]!]!
    const rrs = t.rrs[family]
    out.set(rrs, pos)
    if (ans.ownerOffset !== 12) {
      for (let o = 0; o < rrs.length; o += stride) put16(out, pos + o, 0xc000 | ans.ownerOffset)
    }
    pos += rrs.length
    ctx.counters.target(t)
  }
  if (optLen > 0) appendOpt(out, pos, 0, ctx.maxUdpPayload)
  ctx.counters.response(0)
  return out
}

/** RFC 1035 §4.1.1 / RFC 2181 §9: header + question (+ OPT) with TC=1; the client retries over TCP. */
function truncated(msg: Buffer, rcode: number, ctx: RespondContext): Buffer {
  const optLen = q.edns ? OPT_LEN : 0
  const out = Buffer.allocUnsafe(q.qEnd + optLen)
  copyQuestion(out, msg)
  setFlags(out, msg, rcode, true, true)
  out.fill(0, 6, 12)
  if (optLen > 0) appendOpt(out, q.qEnd, 0, ctx.maxUdpPayload)
  ctx.counters.truncated++
  ctx.counters.response(rcode)
  return out
}

/** Refusals and errors after a readable question: echo it, no AA (RFC 1035 §4.1.1). */
function withQuestion(msg: Buffer, rcode: number, ctx: RespondContext): Buffer {
  const optLen = q.edns ? OPT_LEN : 0
  const out = Buffer.allocUnsafe(q.qEnd + optLen)
  copyQuestion(out, msg)
  setFlags(out, msg, rcode & 0xf, false, false)
  out.fill(0, 6, 12)
  if (optLen > 0) appendOpt(out, q.qEnd, rcode >> 4, ctx.maxUdpPayload)
  ctx.counters.response(rcode)
  return out
}

function headerOnly(msg: Buffer, rcode: number, counters: DnsCounters): Buffer {
  const out = Buffer.alloc(12)
  out[0] = msg[0]!
  out[1] = msg[1]!
  // Opcode and RD echoed (RFC 1035 §4.1.1).
  out[2] = 0x80 | (msg[2]! & 0x79)
  out[3] = rcode
  counters.response(rcode)
  return out
}

/** The query's question, as asked (RFC 4343 §4); a byte loop beats Buffer#copy at this size. */
function copyQuestion(out: Buffer, msg: Buffer): void {
  for (let i = 12, end = q.qEnd; i < end; i++) out[i] = msg[i]!
}

function setFlags(out: Buffer, msg: Buffer, rcode: number, aa: boolean, tc: boolean): void {
  out[0] = msg[0]!
  out[1] = msg[1]!
  out[2] = 0x80 | (aa ? 0x04 : 0) | (tc ? 0x02 : 0) | (msg[2]! & 0x01)
  // RA = 0, AD = 0; CD copied (RFC 6840 §5.9).
  out[3] = (msg[3]! & 0x10) | rcode
  out[4] = 0
  out[5] = 1
}

/** RFC 6891 §6.1.2: root owner, CLASS = our payload size, TTL = extended rcode, version 0, DO. */
function appendOpt(out: Buffer, at: number, extendedRcode: number, payload: number): void {
  out[at] = 0
  put16(out, at + 1, TYPE.OPT)
  put16(out, at + 3, payload)
  out[at + 5] = extendedRcode
  out[at + 6] = 0
  out[at + 7] = q.dnssecOk ? 0x80 : 0
  out[at + 8] = 0
  put16(out, at + 9, 0)
  put16(out, 10, ((out[10]! << 8) | out[11]!) + 1)
}

/**
 * Big-endian 16-bit store at an offset the caller has checked: plain index stores, which the JIT
 * inlines (Buffer#writeUInt16BE validates its arguments on every call).
 */
function put16(out: Buffer, at: number, v: number): void {
  out[at] = v >>> 8
  out[at + 1] = v & 0xff
}
