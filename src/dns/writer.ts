/** Owner token for "the name in the question", written as a pointer to offset 12. */
export const QNAME = Symbol('qname')
export type Owner = string | typeof QNAME

/** Where a compression target lives: fixed offset, body-relative, or relative to the apex inside the qname. */
const ABS = 0
const BODY = 1
const APEX = 2
interface Target {
  rel: number
  off: number
}

/** One resource record ready to encode; `target` is the name in the rdata, for chasing and glue. */
export interface RR {
  type: number
  ttl: number
  target?: string
  /** Identity within its RRset (RFC 2181 §5: no duplicates). */
  key: string
  writeRdata(w: Writer): void
}

export const SECTION_ANSWER = 0
export const SECTION_AUTHORITY = 1
export const SECTION_ADDITIONAL = 2

export interface Encoded {
  buf: Buffer
  an: number
  ns: number
  ar: number
  /** Length up to the additional section, so glue can be dropped before truncating (RFC 2181 §9). */
  noAdditionalLen: number
  /** (position, body offset) pairs: pointers to make absolute by adding the question end. */
  bodyRelocs: Uint16Array
  /** (position, offset) pairs: pointers relative to where the apex starts inside the qname. */
  apexRelocs: Uint16Array
}

/**
 * Compile-time encoder with name compression (RFC 1035 §4.1.4). "exact" mode writes the
 * header and the lower-cased question first, so every pointer is absolute. "fragment" mode
 * writes sections only, for any qname under the apex; its pointers into itself or into the
 * apex part of the qname are relocated per packet.
 */
export class Writer {
  private buf = Buffer.alloc(512)
  len = 0
  private readonly names = new Map<string, Target>()
  private readonly bodyRelocs: number[] = []
  private readonly apexRelocs: number[] = []
  private readonly counts = [0, 0, 0]
  private noAdditionalLen = -1
  private section = SECTION_ANSWER
  private readonly bodyMode: number

  private constructor(mode: number) {
    this.bodyMode = mode
  }

  /** Header + question for `qname` (lower case, type/class left zero: the query's are copied in). */
  static exact(qname: string): Writer {
    const w = new Writer(ABS)
    w.len = 12
    w.buf.writeUInt16BE(1, 4)
    const labels = qname === '' ? [] : qname.split('.')
    for (let i = 0; i < labels.length; i++) {
      w.names.set(labels.slice(i).join('.'), { rel: ABS, off: w.len })
      w.label(labels[i]!)
    }
    w.u8(0)
    w.u32(0)
    return w
  }

  static fragment(apex: string): Writer {
    const w = new Writer(BODY)
    const labels = apex.split('.')
    let off = 0
    for (let i = 0; i < labels.length; i++) {
      w.names.set(labels.slice(i).join('.'), { rel: APEX, off })
      off += labels[i]!.length + 1
    }
    return w
  }

  setSection(section: number): void {
    if (section === SECTION_ADDITIONAL && this.noAdditionalLen < 0) this.noAdditionalLen = this.len
    this.section = section
  }

  /** Absolute pointer value of an already written name (exact mode), or undefined. */
  absoluteOffset(name: string): number | undefined {
    const t = this.names.get(name)
    return t && t.rel === ABS ? t.off : undefined
  }

  rr(owner: Owner, rr: RR): void {
    if (owner === QNAME) this.u16(0xc00c)
    else this.name(owner)
    this.u16(rr.type)
    this.u16(1)
    this.u32(rr.ttl)
    const at = this.len
    this.u16(0)
    rr.writeRdata(this)
    this.buf.writeUInt16BE(this.len - at - 2, at)
    this.counts[this.section]!++
  }

  name(name: string, compress = true): void {
    const labels = name === '' ? [] : name.split('.')
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join('.')
      const t = compress ? this.names.get(suffix) : undefined
      if (t) {
        if (t.rel === BODY) this.bodyRelocs.push(this.len, t.off)
        else if (t.rel === APEX) this.apexRelocs.push(this.len, t.off)
        this.u16(0xc000 | t.off)
        return
      }
      if (!this.names.has(suffix) && this.len < 0x3fff) {
        this.names.set(suffix, { rel: this.bodyMode, off: this.len })
      }
      this.label(labels[i]!)
    }
    this.u8(0)
  }

  label(l: string): void {
    this.u8(l.length)
    this.bytes(Buffer.from(l, 'latin1'))
  }

  characterString(s: Buffer): void {
    this.u8(s.length)
    this.bytes(s)
  }

  u8(v: number): void {
    this.ensure(1)
    this.buf[this.len++] = v
  }

  u16(v: number): void {
    this.ensure(2)
    this.buf.writeUInt16BE(v, this.len)
    this.len += 2
  }

  u32(v: number): void {
    this.ensure(4)
    this.buf.writeUInt32BE(v >>> 0, this.len)
    this.len += 4
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
  }

  finish(): Encoded {
    const buf = Buffer.from(this.buf.subarray(0, this.len))
    const [an, ns, ar] = this.counts as [number, number, number]
    if (this.bodyMode === ABS) {
      buf.writeUInt16BE(an, 6)
      buf.writeUInt16BE(ns, 8)
      buf.writeUInt16BE(ar, 10)
    }
    return {
      buf,
      an,
      ns,
      ar,
      noAdditionalLen: this.noAdditionalLen < 0 ? this.len : this.noAdditionalLen,
      bodyRelocs: Uint16Array.from(this.bodyRelocs),
      apexRelocs: Uint16Array.from(this.apexRelocs)
    }
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n))
    this.buf.copy(next, 0, 0, this.len)
    this.buf = next
  }
}
