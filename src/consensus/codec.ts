/**
 * Binary wire format, version 1. Every message starts with [version u8][type u8], then the sender,
 * receiver (length-prefixed UTF-8) and term; numbers are unsigned LEB128 varints (at most 2^53 - 1),
 * byte strings are varint length + bytes. Entries in an append carry no index: they are
 * prevIndex + 1, prevIndex + 2, … Decoding validates everything and throws MalformedMessageError.
 * Type 11 (`commit`) came later within version 1: a node that predates it drops the notice as
 * malformed and learns the commit index from the next heartbeat instead.
 */
import { MalformedMessageError } from './errors.js'
import type { Entry, EntryKind, HardState, Membership, MembershipChange, Message, MessageType, Snapshot } from './types.js'

export const CODEC_VERSION = 1
/** Default upper bound on an encoded message (a snapshot may be large; entries are bounded by maxAppendBytes). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024
export const MAX_NODE_ID_BYTES = 256

const TYPE_CODES: Readonly<Record<MessageType, number>> = {
  preVote: 1,
  preVoteResp: 2,
  vote: 3,
  voteResp: 4,
  append: 5,
  appendResp: 6,
  heartbeat: 7,
  heartbeatResp: 8,
  snapshot: 9,
  timeoutNow: 10,
  commit: 11
}
const TYPES_BY_CODE = new Map<number, MessageType>(Object.entries(TYPE_CODES).map(([t, c]) => [c, t as MessageType]))
const ENTRY_KINDS: readonly EntryKind[] = ['normal', 'membership']
const CHANGE_KINDS: readonly MembershipChange['kind'][] = ['addLearner', 'promote', 'remove']

const utf8 = new TextEncoder()
const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

// Node ids repeat in every message; remembering their encodings saves most of the encoder's time.
const MAX_CACHED_STRINGS = 1024
const encodedStrings = new Map<string, Uint8Array>()

function encodeString(v: string): Uint8Array {
  let bytes = encodedStrings.get(v)
  if (bytes === undefined) {
    bytes = utf8.encode(v)
    if (encodedStrings.size >= MAX_CACHED_STRINGS) encodedStrings.clear()
    encodedStrings.set(v, bytes)
  }
  return bytes
}

function decodeString(raw: Uint8Array): string {
  let ascii = ''
  for (const b of raw) {
    if (b >= 0x80) return strictUtf8.decode(raw)
    ascii += String.fromCharCode(b)
  }
  return ascii
}

class Writer {
  private buf = new Uint8Array(64)
  private len = 0

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  u8(v: number): void {
    this.reserve(1)
    this.buf[this.len++] = v
  }

  uint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`cannot encode ${v}: not a non-negative safe integer`)
    this.reserve(8)
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }
    this.buf[this.len++] = v
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0)
  }

  bytes(v: Uint8Array): void {
    this.uint(v.length)
    this.reserve(v.length)
    this.buf.set(v, this.len)
    this.len += v.length
  }

  str(v: string): void {
    this.bytes(encodeString(v))
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len)
  }
}

class Reader {
  private pos = 0

  constructor(private readonly buf: Uint8Array) {}

  private need(n: number, what: string): void {
    if (this.buf.length - this.pos < n) {
      throw new MalformedMessageError(`truncated: ${what} needs ${n} byte(s) at offset ${this.pos}, ${this.buf.length - this.pos} left`)
    }
  }

  remaining(): number {
    return this.buf.length - this.pos
  }

  u8(what: string): number {
    this.need(1, what)
    return this.buf[this.pos++]!
  }

  uint(what: string): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const b = this.u8(what)
      value += (b & 0x7f) * scale
      if (b < 0x80) {
        if (!Number.isSafeInteger(value)) throw new MalformedMessageError(`${what} is larger than 2^53 - 1`)
        return value
      }
      scale *= 0x80
    }
    throw new MalformedMessageError(`${what} is larger than 2^53 - 1`)
  }

  bool(what: string): boolean {
    const b = this.u8(what)
    if (b > 1) throw new MalformedMessageError(`${what} must be 0 or 1, got ${b}`)
    return b === 1
  }

  bytes(what: string): Uint8Array {
    const n = this.uint(`${what} length`)
    this.need(n, what)
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  nodeId(what: string): string {
    const n = this.uint(`${what} length`)
    if (n === 0) throw new MalformedMessageError(`${what} is empty`)
    if (n > MAX_NODE_ID_BYTES) throw new MalformedMessageError(`${what} is ${n} bytes long (at most ${MAX_NODE_ID_BYTES})`)
    this.need(n, what)
    const raw = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    try {
      return decodeString(raw)
    } catch {
      throw new MalformedMessageError(`${what} is not valid UTF-8`)
    }
  }

  /** A count of items that each take at least `minItemBytes`: refuse counts the input cannot hold. */
  count(what: string, minItemBytes: number): number {
    const n = this.uint(what)
    if (n * minItemBytes > this.remaining()) throw new MalformedMessageError(`truncated: ${what} is ${n} but only ${this.remaining()} bytes are left`)
    return n
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new MalformedMessageError(`${this.buf.length - this.pos} unexpected trailing byte(s)`)
  }
}

function writeMembership(w: Writer, m: Membership): void {
  w.uint(m.voters.length)
  for (const v of m.voters) w.str(v)
  w.uint(m.learners.length)
  for (const l of m.learners) w.str(l)
}

function readMembership(r: Reader): Membership {
  const voters: string[] = []
  for (let i = r.count('voter count', 2); i > 0; i--) voters.push(r.nodeId('voter id'))
  const learners: string[] = []
  for (let i = r.count('learner count', 2); i > 0; i--) learners.push(r.nodeId('learner id'))
  const all = new Set([...voters, ...learners])
  if (all.size !== voters.length + learners.length) throw new MalformedMessageError('membership lists a node twice')
  return { voters, learners }
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.uint(s.index)
  w.uint(s.term)
  writeMembership(w, s.membership)
  w.bytes(s.data)
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.uint('snapshot index')
  const term = r.uint('snapshot term')
  if (index === 0 || term === 0) throw new MalformedMessageError('snapshot index and term must be at least 1')
  const membership = readMembership(r)
  return { index, term, membership, data: r.bytes('snapshot data') }
}

function entryKind(r: Reader): EntryKind {
  const code = r.u8('entry kind')
  const kind = ENTRY_KINDS[code]
  if (kind === undefined) throw new MalformedMessageError(`unknown entry kind ${code}`)
  return kind
}

/** Encodes a message for the wire. Throws RangeError only for values the core never produces. */
export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer()
  w.u8(CODEC_VERSION)
  w.u8(TYPE_CODES[m.type])
  w.str(m.from)
  w.str(m.to)
  w.uint(m.term)
  switch (m.type) {
    case 'preVote':
      w.uint(m.lastIndex)
      w.uint(m.lastTerm)
      break
    case 'vote':
      w.uint(m.lastIndex)
      w.uint(m.lastTerm)
      w.bool(m.transfer)
      break
    case 'preVoteResp':
    case 'voteResp':
      w.bool(m.reject)
      break
    case 'append':
      w.uint(m.prevIndex)
      w.uint(m.prevTerm)
      w.uint(m.commit)
      w.uint(m.entries.length)
      for (const e of m.entries) {
        w.uint(e.term)
        w.u8(ENTRY_KINDS.indexOf(e.kind))
        w.bytes(e.data)
      }
      break
    case 'appendResp':
      w.uint(m.index)
      w.bool(m.reject)
      w.uint(m.hintIndex)
      w.uint(m.hintTerm)
      break
    case 'heartbeat':
    case 'commit':
      w.uint(m.commit)
      break
    case 'snapshot':
      writeSnapshot(w, m.snapshot)
      break
    case 'heartbeatResp':
    case 'timeoutNow':
      break
  }
  return w.finish()
}

export interface DecodeOptions {
  /** Refuse inputs larger than this many bytes. Default 64 MiB. */
  readonly maxBytes?: number
}

/** Every encoding starts with the codec version; a different one is refused, never guessed at. */
function readVersion(r: Reader): void {
  const version = r.u8('version')
  if (version !== CODEC_VERSION) throw new MalformedMessageError(`unsupported codec version ${version} (this build reads version ${CODEC_VERSION})`)
}

/** Decodes and validates one message. Throws MalformedMessageError (with a reason) for any bad input. */
export function decodeMessage(bytes: Uint8Array, options: DecodeOptions = {}): Message {
  if (!(bytes instanceof Uint8Array)) throw new MalformedMessageError('input is not a Uint8Array')
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  if (bytes.length > maxBytes) throw new MalformedMessageError(`message is ${bytes.length} bytes (at most ${maxBytes})`)
  const r = new Reader(bytes)
  readVersion(r)
  const code = r.u8('message type')
  const type = TYPES_BY_CODE.get(code)
  if (type === undefined) throw new MalformedMessageError(`unknown message type ${code}`)
  const from = r.nodeId('sender id')
  const to = r.nodeId('receiver id')
  const term = r.uint('term')
  if (term === 0) throw new MalformedMessageError('term must be at least 1')
  const base = { from, to, term }
  let m: Message
  switch (type) {
    case 'preVote':
      m = { type, ...base, lastIndex: r.uint('last index'), lastTerm: r.uint('last term') }
      break
    case 'vote':
      m = { type, ...base, lastIndex: r.uint('last index'), lastTerm: r.uint('last term'), transfer: r.bool('transfer flag') }
      break
    case 'preVoteResp':
    case 'voteResp':
      m = { type, ...base, reject: r.bool('reject flag') }
      break
    case 'append': {
      const prevIndex = r.uint('previous index')
      const prevTerm = r.uint('previous term')
      const commit = r.uint('commit')
      const count = r.count('entry count', 3)
      if (!Number.isSafeInteger(prevIndex + count)) throw new MalformedMessageError('entry indexes overflow')
      const entries: Entry[] = []
      let lastTerm = prevTerm
      for (let i = 1; i <= count; i++) {
        const entryTerm = r.uint('entry term')
        if (entryTerm < lastTerm || entryTerm > term) {
          throw new MalformedMessageError(`entry ${prevIndex + i} has term ${entryTerm}, outside [${lastTerm}, ${term}]`)
        }
        lastTerm = entryTerm
        entries.push({ index: prevIndex + i, term: entryTerm, kind: entryKind(r), data: r.bytes('entry data') })
      }
      m = { type, ...base, prevIndex, prevTerm, entries, commit }
      break
    }
    case 'appendResp':
      m = { type, ...base, index: r.uint('index'), reject: r.bool('reject flag'), hintIndex: r.uint('hint index'), hintTerm: r.uint('hint term') }
      break
    case 'heartbeat':
    case 'commit':
      m = { type, ...base, commit: r.uint('commit') }
      break
    case 'snapshot':
      m = { type, ...base, snapshot: readSnapshot(r) }
      break
    case 'heartbeatResp':
    case 'timeoutNow':
      m = { type, ...base }
      break
  }
  r.end()
  return m
}

/** Payload of a `membership` entry. */
export function encodeMembershipChange(change: MembershipChange): Uint8Array {
  const w = new Writer()
  w.u8(CHANGE_KINDS.indexOf(change.kind))
  w.str(change.node)
  return w.finish()
}

export function decodeMembershipChange(bytes: Uint8Array): MembershipChange {
  const r = new Reader(bytes)
  const code = r.u8('membership change kind')
  const kind = CHANGE_KINDS[code]
  if (kind === undefined) throw new MalformedMessageError(`unknown membership change kind ${code}`)
  const node = r.nodeId('membership change node')
  r.end()
  return { kind, node }
}

/** One entry, for the driver's log store: [version][index][term][kind][data]. */
export function encodeEntry(e: Entry): Uint8Array {
  const w = new Writer()
  w.u8(CODEC_VERSION)
  w.uint(e.index)
  w.uint(e.term)
  w.u8(ENTRY_KINDS.indexOf(e.kind))
  w.bytes(e.data)
  return w.finish()
}

export function decodeEntry(bytes: Uint8Array): Entry {
  const r = new Reader(bytes)
  readVersion(r)
  const index = r.uint('entry index')
  const term = r.uint('entry term')
  const e: Entry = { index, term, kind: entryKind(r), data: r.bytes('entry data') }
  r.end()
  return e
}

/** Hard state, for the driver's store: [version][term][commit][has vote][vote]. */
export function encodeHardState(h: HardState): Uint8Array {
  const w = new Writer()
  w.u8(CODEC_VERSION)
  w.uint(h.term)
  w.uint(h.commit)
  w.bool(h.vote !== null)
  if (h.vote !== null) w.str(h.vote)
  return w.finish()
}

export function decodeHardState(bytes: Uint8Array): HardState {
  const r = new Reader(bytes)
  readVersion(r)
  const term = r.uint('term')
  const commit = r.uint('commit')
  const vote = r.bool('vote flag') ? r.nodeId('vote') : null
  r.end()
  return { term, vote, commit }
}

/** A snapshot, for the driver's store (same layout as inside a snapshot message, after a version byte). */
export function encodeSnapshot(s: Snapshot): Uint8Array {
  const w = new Writer()
  w.u8(CODEC_VERSION)
  writeSnapshot(w, s)
  return w.finish()
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const r = new Reader(bytes)
  readVersion(r)
  const s = readSnapshot(r)
  r.end()
  return s
}
