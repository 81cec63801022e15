import { TYPE } from './constants.js'
import { ipBytes } from './ip.js'
import type { Writer, RR } from './writer.js'

export function addressRR(address: string, ttl: number): RR {
  const b = ipBytes(address)
  return {
    type: b.length === 4 ? TYPE.A : TYPE.AAAA,
    ttl,
    key: b.toString('hex'),
    writeRdata: (w) => w.bytes(b)
  }
}

/** CNAME, NS: one compressible name. */
export function nameRR(type: number, target: string, ttl: number): RR {
  return { type, ttl, target, key: target, writeRdata: (w) => w.name(target) }
}

export function mxRR(preference: number, exchange: string, ttl: number): RR {
  return {
    type: TYPE.MX,
    ttl,
    target: exchange,
    key: `${preference} ${exchange}`,
    writeRdata: (w) => {
      w.u16(preference)
      w.name(exchange)
    }
  }
}

/** RFC 2782: the target is not compressed. */
export function srvRR(priority: number, weight: number, port: number, target: string, ttl: number): RR {
  return {
    type: TYPE.SRV,
    ttl,
    target,
    key: `${priority} ${weight} ${port} ${target}`,
    writeRdata: (w) => {
      w.u16(priority)
      w.u16(weight)
      w.u16(port)
      w.name(target, false)
    }
  }
}

export function txtRR(text: string | string[], ttl: number): RR {
  const chunks: Buffer[] = []
  for (const s of typeof text === 'string' ? [text] : text) {
    const b = Buffer.from(s, 'utf8')
    if (b.length === 0) chunks.push(b)
    for (let i = 0; i < b.length; i += 255) chunks.push(b.subarray(i, i + 255))
  }
  return {
    type: TYPE.TXT,
    ttl,
    key: chunks.map((c) => c.toString('hex')).join(' '),
    writeRdata: (w) => {
      for (const c of chunks) w.characterString(c)
    }
  }
}

/** RFC 8659 §4.1. */
export function caaRR(flags: number, tag: string, value: string, ttl: number): RR {
  const t = Buffer.from(tag, 'ascii')
  const v = Buffer.from(value, 'utf8')
  return {
    type: TYPE.CAA,
    ttl,
    key: `${flags} ${tag} ${value}`,
    writeRdata: (w) => {
      w.u8(flags)
      w.characterString(t)
      w.bytes(v)
    }
  }
}

export interface SoaFields {
  mname: string
  rname: string
  serial: number
  refresh: number
  retry: number
  expire: number
  minimum: number
}

export function soaRR(soa: SoaFields, ttl: number): RR {
  return {
    type: TYPE.SOA,
    ttl,
    key: 'soa',
    writeRdata: (w: Writer) => {
      w.name(soa.mname)
      w.name(soa.rname)
      w.u32(soa.serial)
      w.u32(soa.refresh)
      w.u32(soa.retry)
      w.u32(soa.expire)
      w.u32(soa.minimum)
    }
  }
}

/** RFC 8482 §4.2: the synthesised answer to ANY. */
export function hinfoRR(ttl: number): RR {
  const cpu = Buffer.from('RFC8482')
  return {
    type: TYPE.HINFO,
    ttl,
    key: 'hinfo',
    writeRdata: (w) => {
      w.characterString(cpu)
      w.characterString(Buffer.alloc(0))
    }
  }
}
