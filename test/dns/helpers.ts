import { execFile } from 'node:child_process'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import { Packet } from 'dns2'
import { DnsCounters } from '../../src/dns/counters.js'
import type { CompiledZone, ZoneSpec } from '../../src/dns/index.js'
import { type RespondContext, respond } from '../../src/dns/respond.js'

export const DOMAIN = 'example.test'

/** The zone most tests serve (dns-notes.md §2, plus Pryv.io-shaped names). */
export function exampleSpec(over: Partial<ZoneSpec> = {}): ZoneSpec {
  return {
    domain: DOMAIN,
    serial: 2024010101,
    soa: { minimum: 60 },
    nameServers: [
      { name: 'n1', addresses: ['192.0.2.1', '2001:db8::1'] },
      { name: 'n2', addresses: ['192.0.2.2'] },
      { name: 'ns.elsewhere.org.', addresses: ['203.0.113.99'] }
    ],
    nodes: [
      { name: 'co1', addresses: ['192.0.2.11', '2001:db8::11'] },
      { name: 'co2', addresses: ['192.0.2.12'] }
    ],
    records: [
      { name: '@', type: 'TXT', text: 'v=example-test platform zone' },
      { name: '@', type: 'MX', preference: 10, exchange: 'mail' },
      { name: '@', type: 'CAA', tag: 'issue', value: 'letsencrypt.org' },
      { name: 'mail', type: 'A', address: '192.0.2.25' },
      { name: 'txt', type: 'TXT', text: ['hello from', 'example.test'] },
      { name: 'big', type: 'TXT', text: ['a'.repeat(200), 'b'.repeat(200), 'c'.repeat(200)] },
      { name: 'access', type: 'CNAME', target: 'reg' },
      { name: 'sw', type: 'CNAME', target: 'web' },
      { name: 'web', type: 'A', address: '192.0.2.80' },
      { name: 'out', type: 'CNAME', target: 'www.elsewhere.org.' },
      { name: 'dangling', type: 'CNAME', target: 'nothing' },
      { name: '_sip._tcp', type: 'SRV', priority: 1, weight: 5, port: 5060, target: 'co2' },
      { name: 'x.y.deep', type: 'A', address: '192.0.2.99' }
    ],
    weighted: [
      {
        name: 'reg',
        targets: [
          { id: 'n1', addresses: ['198.51.100.1', '2001:db8:1::1'], weight: 6, healthy: true },
          { id: 'n2', addresses: ['198.51.100.2', '2001:db8:1::2'], weight: 3, healthy: true },
          { id: 'n3', addresses: ['198.51.100.3'], weight: 1, healthy: true }
        ]
      }
    ],
    users: { alice: 'co1', 'bob-2': 'co2' },
    acme: [{ value: 'token-apex', expiresAtMs: Date.parse('2100-01-01') }],
    ...over
  }
}

export interface QueryOpts {
  id?: number
  rd?: boolean
  cd?: boolean
  opcode?: number
  qr?: boolean
  cls?: number
  edns?: { udpSize?: number; version?: number; dnssecOk?: boolean; options?: Buffer }
}

/** A query built by hand, so tests control every octet (case, flags, EDNS). */
export function buildQuery(name: string, type: number, o: QueryOpts = {}): Buffer {
  const labels = name === '' || name === '.' ? [] : name.replace(/\.$/, '').split('.')
  const qname = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])])
  const h = Buffer.alloc(12)
  h.writeUInt16BE(o.id ?? 0x1234, 0)
  h[2] = (o.qr ? 0x80 : 0) | ((o.opcode ?? 0) << 3) | (o.rd === false ? 0 : 1)
  h[3] = o.cd ? 0x10 : 0
  h.writeUInt16BE(1, 4)
  const tail = Buffer.alloc(4)
  tail.writeUInt16BE(type, 0)
  tail.writeUInt16BE(o.cls ?? 1, 2)
  const parts: Buffer[] = [h, qname, tail]
  if (o.edns) {
    h.writeUInt16BE(1, 10)
    const opts = o.edns.options ?? Buffer.alloc(0)
    const opt = Buffer.alloc(11)
    opt.writeUInt16BE(41, 1)
    opt.writeUInt16BE(o.edns.udpSize ?? 1232, 3)
    opt[6] = o.edns.version ?? 0
    opt[7] = o.edns.dnssecOk ? 0x80 : 0
    opt.writeUInt16BE(opts.length, 9)
    parts.push(opt, opts)
  }
  return Buffer.concat(parts)
}

export interface Decoded {
  id: number
  qr: boolean
  opcode: number
  aa: boolean
  tc: boolean
  rd: boolean
  ra: boolean
  cd: boolean
  rcode: number
  qd: number
  an: number
  ns: number
  ar: number
  /** The question's name exactly as echoed (case preserved). */
  qname: string
  answers: any[]
  authorities: any[]
  additionals: any[]
  opt?: { udpSize: number; extendedRcode: number; version: number; dnssecOk: boolean }
  size: number
}

/** Header fields by hand; sections via dns2's decoder (an independent implementation). */
export function decode(buf: Buffer): Decoded {
  const p = Packet.parse(buf) as any
  const optAt = findOpt(buf)
  const additionals = (p.additionals as any[]).filter((r) => r.type !== 41)
  return {
    id: buf.readUInt16BE(0),
    qr: (buf[2]! & 0x80) !== 0,
    opcode: (buf[2]! >> 3) & 0xf,
    aa: (buf[2]! & 0x04) !== 0,
    tc: (buf[2]! & 0x02) !== 0,
    rd: (buf[2]! & 0x01) !== 0,
    ra: (buf[3]! & 0x80) !== 0,
    cd: (buf[3]! & 0x10) !== 0,
    rcode: buf[3]! & 0x0f,
    qd: buf.readUInt16BE(4),
    an: buf.readUInt16BE(6),
    ns: buf.readUInt16BE(8),
    ar: buf.readUInt16BE(10),
    qname: p.questions[0]?.name ?? '',
    answers: p.answers,
    authorities: p.authorities,
    additionals,
    opt:
      optAt === undefined
        ? undefined
        : {
            udpSize: buf.readUInt16BE(optAt + 3),
            extendedRcode: buf[optAt + 5]!,
            version: buf[optAt + 6]!,
            dnssecOk: (buf[optAt + 7]! & 0x80) !== 0
          },
    size: buf.length
  }
}

/** Offset of the OPT RR if it is the last record (where this server puts it). */
function findOpt(buf: Buffer): number | undefined {
  const at = buf.length - 11
  if (at < 12 || buf.readUInt16BE(10) === 0) return undefined
  return buf[at] === 0 && buf.readUInt16BE(at + 1) === 41 && buf.readUInt16BE(at + 9) === 0 ? at : undefined
}

/** UDP client matching replies by ID; `null` when nothing came back within timeoutMs. */
export class UdpClient {
  private readonly sock: UdpSocket
  private readonly pending = new Map<number, (b: Buffer) => void>()
  readonly received: Buffer[] = []

  constructor(family: 4 | 6 = 4) {
    this.sock = createSocket(family === 4 ? 'udp4' : 'udp6')
    this.sock.on('message', (m) => {
      this.received.push(m)
      if (m.length < 2) return
      const id = m.readUInt16BE(0)
      const r = this.pending.get(id)
      this.pending.delete(id)
      r?.(m)
    })
  }

  send(buf: Buffer, port: number, host = '127.0.0.1'): void {
    this.sock.send(buf, port, host)
  }

  query(buf: Buffer, port: number, host = '127.0.0.1', timeoutMs = 2000): Promise<Buffer | null> {
    const id = buf.readUInt16BE(0)
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.pending.delete(id)
        resolve(null)
      }, timeoutMs)
      this.pending.set(id, (b) => {
        clearTimeout(t)
        resolve(b)
      })
      this.sock.send(buf, port, host)
    })
  }

  /** Sends all queries at once (distinct IDs); resolves with the replies in query order. */
  queryMany(bufs: Buffer[], port: number, host = '127.0.0.1', timeoutMs = 5000): Promise<(Buffer | null)[]> {
    const out: (Buffer | null)[] = bufs.map(() => null)
    let left = bufs.length
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        for (const b of bufs) this.pending.delete(b.readUInt16BE(0))
        resolve(out)
      }, timeoutMs)
      bufs.forEach((b, i) => {
        this.pending.set(b.readUInt16BE(0), (r) => {
          out[i] = r
          if (--left === 0) {
            clearTimeout(t)
            resolve(out)
          }
        })
      })
      for (const b of bufs) this.sock.send(b, port, host)
    })
  }

  close(): void {
    this.sock.close()
  }
}

/** IPv4 addresses of the A records in the answer section, read with a minimal decoder. */
export function answerAddresses(msg: Buffer): string[] {
  const skipName = (p: number): number => {
    while (msg[p] !== 0) {
      if ((msg[p]! & 0xc0) === 0xc0) return p + 2
      p += msg[p]! + 1
    }
    return p + 1
  }
  let p = skipName(12) + 4
  const out: string[] = []
  for (let i = msg.readUInt16BE(6); i > 0; i--) {
    p = skipName(p)
    const type = msg.readUInt16BE(p)
    const len = msg.readUInt16BE(p + 8)
    if (type === 1) out.push([...msg.subarray(p + 10, p + 14)].join('.'))
    p += 10 + len
  }
  return out
}

/** Opens one TCP connection, writes all frames at once (pipelining), returns `count` reply frames. */
export function tcpExchange(port: number, payload: Buffer, count: number, host = '127.0.0.1'): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const s = connect(port, host)
    const frames: Buffer[] = []
    let acc = Buffer.alloc(0)
    s.on('error', reject)
    s.on('close', () => resolve(frames))
    s.on('data', (d) => {
      acc = Buffer.concat([acc, d])
      while (acc.length >= 2 && acc.length >= 2 + acc.readUInt16BE(0)) {
        frames.push(acc.subarray(2, 2 + acc.readUInt16BE(0)))
        acc = acc.subarray(2 + acc.readUInt16BE(0))
      }
      if (frames.length >= count) s.end()
    })
    s.write(payload)
  })
}

export function frame(msg: Buffer): Buffer {
  const len = Buffer.alloc(2)
  len.writeUInt16BE(msg.length, 0)
  return Buffer.concat([len, msg])
}

const execFileAsync = promisify(execFile)

export async function hasDig(): Promise<boolean> {
  try {
    await execFileAsync('dig', ['-v'])
    return true
  } catch {
    return false
  }
}

/** Runs dig against the server (async: the server shares this process's event loop). */
export async function dig(port: number, args: string[], host = '127.0.0.1'): Promise<string> {
  const { stdout } = await execFileAsync('dig', [`@${host}`, '-p', String(port), '+norec', '+time=2', '+tries=1', ...args])
  return stdout
}

/** The request path without sockets (CoreDNS-style recorder): one query in, decoded reply out. */
export function answerDirect(zone: CompiledZone, name: string, type: number, o: QueryOpts = {}): Decoded {
  const ctx: RespondContext = { zone, random: () => 0, counters: new DnsCounters(), maxUdpPayload: 1232 }
  const out = respond(buildQuery(name, type, o), false, ctx)
  if (out === null) throw new Error(`no reply to ${name}/${type}`)
  return decode(out)
}
