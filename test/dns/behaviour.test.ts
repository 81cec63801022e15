// Request-path behaviour over real UDP sockets on 127.0.0.1, one row per rule, each citing its RFC.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileZone, DnsServer } from '../../src/dns/index.js'
import { buildQuery, type Decoded, decode, exampleSpec, type QueryOpts, UdpClient } from './helpers.js'

const T = { A: 1, NS: 2, CNAME: 5, SOA: 6, HINFO: 13, MX: 15, TXT: 16, AAAA: 28, SRV: 33, IXFR: 251, AXFR: 252, ANY: 255, CAA: 257 }

let server: DnsServer
let port: number
let client: UdpClient

beforeAll(async () => {
  server = new DnsServer(compileZone(exampleSpec()), { random: () => 0 })
  const bound = await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })
  port = bound.udp[0]!.port
  client = new UdpClient()
})

afterAll(async () => {
  client.close()
  await server.stop()
})

let nextId = 1
async function ask(name: string, type: number, o: QueryOpts = {}): Promise<Decoded> {
  const id = nextId++
  const res = await client.query(buildQuery(name, type, { id, ...o }), port)
  expect(res, `no reply to ${name}/${type}`).not.toBeNull()
  const d = decode(res!)
  expect(d.id).toBe(id)
  expect(d.qr).toBe(true)
  return d
}

const types = (rrs: any[]): number[] => rrs.map((r) => r.type)
const soaOnly = (d: Decoded): void => {
  expect(types(d.authorities)).toEqual([T.SOA])
  // RFC 2308 §5: negative TTL = min(SOA TTL, SOA MINIMUM).
  expect(d.authorities[0].ttl).toBe(60)
  expect(d.authorities[0].serial).toBe(2024010101)
}

interface Row {
  rfc: string
  name: string
  type: number
  opts?: QueryOpts
  rcode: number
  aa?: boolean
  check?: (d: Decoded) => void
}

const rows: Row[] = [
  {
    rfc: 'RFC 1035 §4.3.2: A of a node, authoritative',
    name: 'co1.example.test',
    type: T.A,
    rcode: 0,
    check: (d) => {
      expect(d.answers.map((r) => [r.type, r.address, r.ttl])).toEqual([[T.A, '192.0.2.11', 300]])
      expect(d.ns + d.ar).toBe(0)
    }
  },
  {
    rfc: 'RFC 3596 §2: AAAA honours the qtype',
    name: 'co1.example.test',
    type: T.AAAA,
    rcode: 0,
    check: (d) => expect(d.answers.map((r) => r.address)).toEqual(['2001:db8::11'])
  },
  { rfc: 'RFC 2308 §2.2: NODATA carries the SOA', name: 'co2.example.test', type: T.AAAA, rcode: 0, check: (d) => { expect(d.an).toBe(0); soaOnly(d) } },
  { rfc: 'RFC 2308 §2.1: NXDOMAIN carries the SOA', name: 'nope.example.test', type: T.A, rcode: 3, check: soaOnly },
  { rfc: 'RFC 8020 §2: empty non-terminal is NOERROR', name: 'y.deep.example.test', type: T.A, rcode: 0, check: soaOnly },
  { rfc: 'RFC 8020 §2: empty non-terminal two levels up', name: 'deep.example.test', type: T.TXT, rcode: 0, check: soaOnly },
  { rfc: 'RFC 1034 §4.3.2: nothing below a non-existent name', name: 'z.deep.example.test', type: T.A, rcode: 3, check: soaOnly },
  { rfc: 'RFC 1034 §4.3.2 step 2: outside the zone → REFUSED, no AA', name: 'www.example.org', type: T.A, rcode: 5, aa: false },
  { rfc: 'zone cut at a label boundary only', name: 'xexample.test', type: T.A, rcode: 5, aa: false },
  {
    rfc: 'RFC 4343 §4: case-insensitive match, asked case echoed',
    name: 'Co1.EXAMPLE.test',
    type: T.A,
    rcode: 0,
    check: (d) => {
      expect(d.qname).toBe('Co1.EXAMPLE.test')
      expect(d.answers[0].name).toBe('Co1.EXAMPLE.test')
    }
  },
  {
    rfc: 'RFC 4343 §3: only ASCII letters fold',
    name: 'co1.examPle.tesT',
    type: T.A,
    rcode: 0,
    check: (d) => expect(d.answers[0].address).toBe('192.0.2.11')
  },
  {
    rfc: 'RFC 1035 §3.3.14: TXT with several character-strings',
    name: 'txt.example.test',
    type: T.TXT,
    rcode: 0,
    check: (d) => expect(d.answers.map((r) => r.data)).toEqual([['hello from', 'example.test']])
  },
  {
    rfc: 'RFC 1035 §3.3.9: MX with the exchange address in additional',
    name: 'example.test',
    type: T.MX,
    rcode: 0,
    check: (d) => {
      expect(d.answers.map((r) => [r.priority, r.exchange])).toEqual([[10, 'mail.example.test']])
      expect(d.additionals.map((r) => [r.name, r.address])).toEqual([['mail.example.test', '192.0.2.25']])
    }
  },
  {
    rfc: 'RFC 1035 §6.3.3: NS with in-zone glue only',
    name: 'example.test',
    type: T.NS,
    rcode: 0,
    check: (d) => {
      expect(d.answers.map((r) => r.ns).sort()).toEqual(['n1.example.test', 'n2.example.test', 'ns.elsewhere.org'])
      expect(d.additionals.map((r) => `${r.name} ${r.address}`).sort()).toEqual([
        'n1.example.test 192.0.2.1',
        'n1.example.test 2001:db8::1',
        'n2.example.test 192.0.2.2'
      ])
    }
  },
  {
    rfc: 'RFC 1035 §3.3.13: SOA at the apex, serial = applied revision',
    name: 'example.test',
    type: T.SOA,
    rcode: 0,
    check: (d) => {
      expect(d.answers[0]).toMatchObject({ primary: 'n1.example.test', admin: 'hostmaster.example.test', serial: 2024010101, ttl: 3600 })
    }
  },
  { rfc: 'RFC 8659 §4: CAA', name: 'example.test', type: T.CAA, rcode: 0, check: (d) => expect(d.answers[0]).toMatchObject({ tag: 'issue', value: 'letsencrypt.org' }) },
  {
    rfc: 'RFC 2782: SRV, target address in additional',
    name: '_sip._tcp.example.test',
    type: T.SRV,
    rcode: 0,
    check: (d) => {
      expect(d.answers[0]).toMatchObject({ priority: 1, weight: 5, port: 5060, target: 'co2.example.test' })
      expect(d.additionals.map((r) => r.address)).toEqual(['192.0.2.12'])
    }
  },
  {
    rfc: 'RFC 1034 §4.3.2 step 3a: CNAME chased inside the zone',
    name: 'sw.example.test',
    type: T.A,
    rcode: 0,
    check: (d) => expect(d.answers.map((r) => [r.name, r.type, r.domain ?? r.address])).toEqual([
      ['sw.example.test', T.CNAME, 'web.example.test'],
      ['web.example.test', T.A, '192.0.2.80']
    ])
  },
  {
    rfc: 'RFC 1034 §4.3.2: CNAME chased into a weighted name',
    name: 'access.example.test',
    type: T.A,
    rcode: 0,
    check: (d) => {
      expect(types(d.answers)).toEqual([T.CNAME, T.A])
      expect(d.answers[1]).toMatchObject({ name: 'reg.example.test', address: '198.51.100.1', ttl: 30 })
    }
  },
  { rfc: 'RFC 1034 §3.6.2: qtype CNAME returns the CNAME only', name: 'sw.example.test', type: T.CNAME, rcode: 0, check: (d) => expect(types(d.answers)).toEqual([T.CNAME]) },
  { rfc: 'RFC 1034 §4.3.2: CNAME out of the zone is not chased', name: 'out.example.test', type: T.A, rcode: 0, check: (d) => { expect(types(d.answers)).toEqual([T.CNAME]); expect(d.ns).toBe(0) } },
  {
    rfc: 'RFC 6604 §2.1: rcode of the last name of the chain',
    name: 'dangling.example.test',
    type: T.A,
    rcode: 3,
    check: (d) => { expect(types(d.answers)).toEqual([T.CNAME]); soaOnly(d) }
  },
  {
    rfc: 'user → CNAME to its core plus the core address',
    name: 'Alice.example.test',
    type: T.A,
    rcode: 0,
    check: (d) => expect(d.answers.map((r) => [r.name, r.domain ?? r.address])).toEqual([
      ['Alice.example.test', 'co1.example.test'],
      ['co1.example.test', '192.0.2.11']
    ])
  },
  { rfc: 'user AAAA', name: 'alice.example.test', type: T.AAAA, rcode: 0, check: (d) => expect(d.answers.map((r) => r.domain ?? r.address)).toEqual(['co1.example.test', '2001:db8::11']) },
  { rfc: 'RFC 2308 §2.2 after a CNAME: user MX', name: 'bob-2.example.test', type: T.MX, rcode: 0, check: (d) => { expect(types(d.answers)).toEqual([T.CNAME]); soaOnly(d) } },
  { rfc: 'unknown user → NXDOMAIN', name: 'carol.example.test', type: T.A, rcode: 3, check: soaOnly },
  { rfc: 'RFC 8482 §4.2: ANY → one synthesised HINFO', name: 'co1.example.test', type: T.ANY, rcode: 0, check: (d) => expect(types(d.answers)).toEqual([T.HINFO]) },
  { rfc: 'RFC 8482 §4.1: ANY at a CNAME → the CNAME', name: 'sw.example.test', type: T.ANY, rcode: 0, check: (d) => expect(types(d.answers)).toEqual([T.CNAME]) },
  { rfc: 'ANY at a missing name → NXDOMAIN', name: 'nope.example.test', type: T.ANY, rcode: 3 },
  { rfc: 'RFC 5936 §2.2.1: AXFR refused', name: 'example.test', type: T.AXFR, rcode: 5, aa: false },
  { rfc: 'RFC 1995: IXFR refused', name: 'example.test', type: T.IXFR, rcode: 5, aa: false },
  { rfc: 'RFC 1035 §3.2.4: only class IN is served (CH → REFUSED)', name: 'co1.example.test', type: T.A, opts: { cls: 3 }, rcode: 5, aa: false },
  { rfc: 'RFC 1035 §4.1.1: unknown qtype → NODATA', name: 'co1.example.test', type: 65, rcode: 0, check: soaOnly },
  { rfc: 'ACME: _acme-challenge TXT, short TTL', name: '_acme-challenge.example.test', type: T.TXT, rcode: 0, check: (d) => expect(d.answers.map((r) => [r.data, r.ttl])).toEqual([[['token-apex'], 30]]) },
  {
    rfc: 'weighted: subset of one, short TTL',
    name: 'reg.example.test',
    type: T.A,
    rcode: 0,
    check: (d) => expect(d.answers.map((r) => [r.address, r.ttl])).toEqual([['198.51.100.1', 30]])
  },
  { rfc: 'weighted AAAA', name: 'reg.example.test', type: T.AAAA, rcode: 0, check: (d) => expect(d.answers.map((r) => r.address)).toEqual(['2001:db8:1::1']) },
  { rfc: 'weighted name, other type → NODATA', name: 'reg.example.test', type: T.TXT, rcode: 0, check: soaOnly },
  {
    rfc: 'RFC 1035 §4.1.1: ID and RD echoed, RA = 0; RFC 6840 §5.9: CD copied',
    name: 'co1.example.test',
    type: T.A,
    opts: { rd: false, cd: true },
    rcode: 0,
    check: (d) => {
      expect(d.rd).toBe(false)
      expect(d.ra).toBe(false)
      expect(d.cd).toBe(true)
    }
  },
  {
    rfc: 'RFC 6891 §6.1.1: OPT echoed, our payload size, DO copied (RFC 3225 §3)',
    name: 'co1.example.test',
    type: T.A,
    opts: { edns: { udpSize: 4096, dnssecOk: true } },
    rcode: 0,
    check: (d) => expect(d.opt).toEqual({ udpSize: 1232, extendedRcode: 0, version: 0, dnssecOk: true })
  },
  {
    rfc: 'RFC 6891 §6.1.2: unknown EDNS options ignored',
    name: 'co1.example.test',
    type: T.A,
    opts: { edns: { options: Buffer.from([0xfd, 0xe9, 0, 2, 1, 2]) } },
    rcode: 0,
    check: (d) => { expect(d.an).toBe(1); expect(d.opt?.version).toBe(0) }
  },
  {
    rfc: 'RFC 6891 §6.1.3: EDNS version 1 → BADVERS (extended rcode 1, header 0)',
    name: 'co1.example.test',
    type: T.A,
    opts: { edns: { version: 1 } },
    rcode: 0,
    aa: false,
    check: (d) => {
      expect(d.an).toBe(0)
      expect(d.opt?.extendedRcode).toBe(1)
    }
  },
  {
    rfc: 'RFC 1035 §4.2.1: 512 octets without EDNS → TC=1, question only',
    name: 'big.example.test',
    type: T.TXT,
    rcode: 0,
    check: (d) => {
      expect(d.tc).toBe(true)
      expect(d.an + d.ns + d.ar).toBe(0)
      expect(d.qd).toBe(1)
    }
  },
  {
    rfc: 'RFC 6891 §6.2.3: a payload below 512 counts as 512',
    name: 'big.example.test',
    type: T.TXT,
    opts: { edns: { udpSize: 100 } },
    rcode: 0,
    check: (d) => { expect(d.tc).toBe(true); expect(d.ar).toBe(1) }
  },
  {
    rfc: 'RFC 6891 §6.2.5: the requester payload size is honoured',
    name: 'big.example.test',
    type: T.TXT,
    opts: { edns: { udpSize: 1232 } },
    rcode: 0,
    check: (d) => {
      expect(d.tc).toBe(false)
      expect(d.answers[0].data.join('')).toHaveLength(600)
      expect(d.size).toBeGreaterThan(512)
    }
  }
]

describe('request path over UDP', () => {
  it.each(rows)('$rfc ($name/$type)', async (row) => {
    const d = await ask(row.name, row.type, row.opts)
    expect(d.rcode).toBe(row.rcode)
    expect(d.aa).toBe(row.aa ?? true)
    expect(d.opcode).toBe(0)
    expect(d.qname).toBe(row.name)
    row.check?.(d)
  })

  it.each([
    ['STATUS', 2],
    ['NOTIFY', 4],
    ['UPDATE', 5]
  ])('RFC 1035 §4.1.1: opcode %s → NOTIMP, opcode echoed', async (_name, opcode) => {
    const d = decode((await client.query(buildQuery('example.test', T.SOA, { id: 77, opcode }), port))!)
    expect([d.rcode, d.opcode, d.qr]).toEqual([4, opcode, true])
  })

  const raw = (hex: string): Buffer => Buffer.from(hex.replace(/\s/g, ''), 'hex')
  const q1 = buildQuery('co1.example.test', T.A, { id: 0x4242 })
  const formerr: [string, Buffer][] = [
    ['QDCOUNT = 2 (RFC 1035 §4.1.2 one question)', Buffer.concat([raw('4242 0100 0002 0000 0000 0000'), q1.subarray(12), q1.subarray(12)])],
    ['QDCOUNT = 0', raw('4242 0100 0000 0000 0000 0000')],
    ['label runs past the end (dns-notes §7 crash packet)', raw('4242 0000 0001 0000 0000 0000 3f616263')],
    ['compression pointer in the question', raw('4242 0100 0001 0000 0000 0000 c00c 0001 0001')],
    ['trailing garbage after the question', Buffer.concat([q1, raw('deadbeef')])],
    ['ANCOUNT ≠ 0 in a query', Buffer.concat([raw('4242 0100 0001 0001 0000 0000'), q1.subarray(12)])],
    ['two OPT records (RFC 6891 §6.1.1)', Buffer.concat([raw('4242 0100 0001 0000 0000 0002'), q1.subarray(12), raw('00 0029 1000 00000000 0000'), raw('00 0029 1000 00000000 0000')])],
    ['OPT not owned by the root', Buffer.concat([raw('4242 0100 0001 0000 0000 0001'), q1.subarray(12), raw('0161 00 0029 1000 00000000 0000')])],
    ['additional RR longer than the packet', Buffer.concat([raw('4242 0100 0001 0000 0000 0001'), q1.subarray(12), raw('00 0029 1000 00000000 0010')])]
  ]
  it.each(formerr)('RFC 1035 §4.1.1: malformed → FORMERR: %s', async (_what, packet) => {
    const res = await client.query(packet, port)
    const d = decode(res!)
    expect([d.id, d.qr, d.rcode, d.an]).toEqual([0x4242, true, 1, 0])
  })

  it.each([
    ['QR = 1: responses are never answered (reflection loops)', buildQuery('co1.example.test', T.A, { id: 0x5151, qr: true })],
    ['runt shorter than a header', Buffer.from('5151000000', 'hex')],
    ['empty datagram', Buffer.alloc(0)]
  ])('no reply: %s', async (_what, packet) => {
    client.send(packet, port)
    // Replies come back in order on loopback: the probe's answer proves the first got none.
    const probe = await ask('co1.example.test', T.A)
    expect(probe.rcode).toBe(0)
    expect(client.received.some((m) => m.length >= 2 && m.readUInt16BE(0) === 0x5151)).toBe(false)
  })
})
