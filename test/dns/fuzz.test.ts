// Seeded fuzzing: random and mutated packets never throw, every reply is well-formed, and the
// server answers correctly afterwards.
import { connect } from 'node:net'
import { Packet } from 'dns2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileZone, DnsServer, seededRandom } from '../../src/dns/index.js'
import { DnsCounters, QTYPE_LABELS, RCODE_LABELS } from '../../src/dns/counters.js'
import { type RespondContext, respond } from '../../src/dns/respond.js'
import { buildQuery, decode, exampleSpec, UdpClient } from './helpers.js'

const rnd = seededRandom(20240101)
const int = (n: number): number => Math.floor(rnd() * n)

const NAMES = ['co1.example.test', 'REG.example.test', 'alice.example.test', 'big.example.test', 'sw.example.test', 'nope.example.test', 'x.y.deep.example.test', 'example.test', 'example.org', '']
const TYPES = [1, 2, 5, 6, 15, 16, 28, 33, 41, 65, 251, 252, 255, 257, 0, 65535]

function seed(): Buffer {
  const edns = rnd() < 0.5 ? { udpSize: int(5000), version: int(3) === 0 ? 1 : 0, dnssecOk: rnd() < 0.5 } : undefined
  return buildQuery(NAMES[int(NAMES.length)]!, TYPES[int(TYPES.length)]!, { id: int(65536), opcode: int(8) === 0 ? int(16) : 0, edns })
}

/** One fuzz case: a mutated valid query (most), or pure noise. */
function fuzzPacket(): Buffer {
  if (rnd() < 0.15) return Buffer.from(Array.from({ length: int(600) }, () => int(256)))
  const b = Buffer.from(seed())
  const kind = int(5)
  if (kind === 0) for (let i = int(4) + 1; i > 0; i--) b[int(b.length)] = int(256)
  else if (kind === 1) return b.subarray(0, int(b.length))
  else if (kind === 2) return Buffer.concat([b, Buffer.from(Array.from({ length: int(40) }, () => int(256)))])
  else if (kind === 3) b.writeUInt16BE(int(4) === 0 ? int(65536) : int(3), 4 + 2 * int(4))
  else b[12 + int(b.length - 12)] = [0, 63, 64, 0xc0, 0xff][int(5)]!
  b[2]! &= 0x7f
  return b
}

let server: DnsServer
let port: number
beforeAll(async () => {
  server = new DnsServer(compileZone(exampleSpec()), { random: seededRandom(1) })
  const b = await server.start({ udp: [{ host: '127.0.0.1', port: 0 }], tcp: [{ host: '127.0.0.1', port: 0 }] })
  port = b.udp[0]!.port
})
afterAll(() => server.stop())

describe('fuzz', () => {
  it('100,000 random and mutated packets: no exception, every reply a well-formed response to its query', () => {
    const ctx: RespondContext = {
      zone: compileZone(exampleSpec()),
      random: seededRandom(3),
      counters: new DnsCounters(),
      maxUdpPayload: 1232
    }
    let replies = 0
    const bad: string[] = []
    for (let i = 0; i < 100_000; i++) {
      const msg = fuzzPacket()
      const tcp = (i & 1) === 1
      const out = respond(msg, tcp, ctx)
      if (out === null) {
        if (msg.length >= 12 && (msg[2]! & 0x80) === 0) bad.push(`dropped ${msg.toString('hex')}`)
        continue
      }
      replies++
      const wellFormed =
        out.readUInt16BE(0) === msg.readUInt16BE(0) && (out[2]! & 0x80) !== 0 && (tcp || out.length <= 1232)
      // dns2 decodes a sample, as an independent check of the wire format.
      const decodeErrors = i % 4 === 0 ? ((Packet.parse(out) as any).errors ?? []) : []
      if (!wellFormed || decodeErrors.length > 0) bad.push(`${msg.toString('hex')} → ${out.toString('hex')}`)
    }
    expect(bad.slice(0, 5)).toEqual([])
    expect(replies).toBeGreaterThan(50_000)
  })

  it('the live server survives 20,000 fuzz datagrams and TCP garbage, then answers correctly', async () => {
    const client = new UdpClient()
    for (let i = 0; i < 20_000; i++) {
      client.send(fuzzPacket(), port)
      if (i % 100 === 0) await new Promise((r) => setImmediate(r))
    }
    for (let i = 0; i < 20; i++) {
      const s = connect(port, '127.0.0.1')
      s.on('error', () => {})
      s.end(Buffer.from(Array.from({ length: int(3000) }, () => int(256))))
    }
    client.close()
    // A fresh socket, so no late fuzz reply can match; UDP may drop under the flood, so retry.
    const probe = new UdpClient()
    let reply: Buffer | null = null
    for (let i = 0; i < 5 && reply === null; i++) {
      reply = await probe.query(buildQuery('Co1.Example.Test', 1, { id: 4242 + i }), port, '127.0.0.1', 1000)
    }
    probe.close()
    const d = decode(reply!)
    expect([d.rcode, d.aa, d.qname, d.answers[0].address]).toEqual([0, true, 'Co1.Example.Test', '192.0.2.11'])
    expect(server.counters().responsesByRcode.FORMERR).toBeGreaterThan(0)
  })

  it('metric labels stay in a fixed set whatever QTYPEs the packets carry (issue 11 item 4)', () => {
    const ctx: RespondContext = { zone: compileZone(exampleSpec()), random: seededRandom(5), counters: new DnsCounters(), maxUdpPayload: 1232 }
    for (let i = 0; i < 20_000; i++) {
      const q = buildQuery(NAMES[int(NAMES.length)]!, int(65536), { id: i })
      respond(i % 2 === 0 ? q : fuzzPacket(), false, ctx)
    }
    const c = ctx.counters.snapshot()
    const qtypes = Object.keys(c.queriesByType)
    expect(qtypes.filter((t) => !QTYPE_LABELS.has(t))).toEqual([])
    expect(Object.keys(c.responsesByRcode).filter((r) => !RCODE_LABELS.has(r))).toEqual([])
    expect(qtypes.length).toBeLessThanOrEqual(QTYPE_LABELS.size)
    expect(c.queriesByType.other).toBeGreaterThan(9_000)
  })
})
