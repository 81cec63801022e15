// DnsServer lifecycle: ports, IPv4/IPv6, zone swaps, incremental updates, expiry, counters.
import { networkInterfaces } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { compileZone, DnsServer } from '../../src/dns/index.js'
import { buildQuery, type Decoded, decode, exampleSpec, frame, tcpExchange, UdpClient } from './helpers.js'

let server: DnsServer | undefined
let client: UdpClient | undefined
afterEach(async () => {
  client?.close()
  await server?.stop()
  server = undefined
  client = undefined
})

let id = 1
async function ask(port: number, name: string, type: number, host = '127.0.0.1'): Promise<Decoded> {
  const r = await client!.query(buildQuery(name, type, { id: id++ }), port, host)
  return decode(r!)
}

const hasIPv6Loopback = Object.values(networkInterfaces()).some((l) => l?.some((a) => a.address === '::1'))

describe('DnsServer', () => {
  it('port 0 returns the bound ports; UDP and TCP share one', async () => {
    server = new DnsServer(compileZone(exampleSpec()))
    const b = await server.start({ udp: [{ host: '127.0.0.1', port: 0 }], tcp: [{ host: '127.0.0.1', port: 0 }] })
    expect(b.udp[0]!.port).toBeGreaterThan(0)
    expect(b.tcp[0]!.port).toBe(b.udp[0]!.port)
    expect(b.udpThreads).toBe(1)
    await expect(server.start({ udp: [] })).rejects.toThrow(/already started/)
  })

  it.skipIf(!hasIPv6Loopback)('serves IPv6 listeners (UDP and TCP on ::1)', async () => {
    server = new DnsServer(compileZone(exampleSpec()))
    const b = await server.start({
      udp: [{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 0 }],
      tcp: [{ host: '::1', port: 0 }]
    })
    client = new UdpClient(6)
    const v6 = b.udp[1]!
    expect(v6.host).toBe('::1')
    expect((await ask(v6.port, 'co1.example.test', 28, '::1')).answers[0].address).toBe('2001:db8::11')
    const [t] = await tcpExchange(b.tcp[0]!.port, frame(buildQuery('co2.example.test', 1, { id: 3 })), 1, '::1')
    expect(decode(t!).answers[0].address).toBe('192.0.2.12')
  })

  it('an occupied port is a DnsListenError and leaves nothing bound', async () => {
    server = new DnsServer(compileZone(exampleSpec()))
    const b = await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })
    const other = new DnsServer(compileZone(exampleSpec()))
    await expect(other.start({ udp: [{ host: '127.0.0.1', port: 0 }, b.udp[0]!] })).rejects.toMatchObject({ name: 'DnsListenError' })
  })

  it('setZone swaps the zone; applySpec keeps the old zone when the new one does not compile', async () => {
    server = new DnsServer(compileZone(exampleSpec()))
    const port = (await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })).udp[0]!.port
    client = new UdpClient()
    expect(server.applySpec(exampleSpec({ serial: 2 }))).toBeUndefined()
    expect((await ask(port, 'example.test', 6)).answers[0].serial).toBe(2)
    const err = server.applySpec(exampleSpec({ serial: 3, records: [{ name: 'a', type: 'CNAME', target: 'b' }, { name: 'a', type: 'A', address: '192.0.2.1' }] }))
    expect(err?.name).toBe('ZoneSpecError')
    expect((await ask(port, 'example.test', 6)).answers[0].serial).toBe(2)
    expect((await ask(port, 'co1.example.test', 1)).answers[0].address).toBe('192.0.2.11')
  })

  it('setUser adds, moves and removes one user without a new zone', async () => {
    server = new DnsServer(compileZone(exampleSpec()))
    const port = (await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })).udp[0]!.port
    client = new UdpClient()
    const zone = server.zone
    server.setUser('dave', 'co2')
    server.setUser('alice', 'co2')
    server.setUser('bob-2', null)
    expect(server.zone).toBe(zone)
    expect((await ask(port, 'dave.example.test', 1)).answers.map((r) => r.address ?? r.domain)).toEqual(['co2.example.test', '192.0.2.12'])
    expect((await ask(port, 'alice.example.test', 5)).answers[0].domain).toBe('co2.example.test')
    expect((await ask(port, 'bob-2.example.test', 1)).rcode).toBe(3)
  })

  it('setSerial gives a new SOA serial (negative answers too) and keeps users set in place and health overrides', async () => {
    server = new DnsServer(compileZone(exampleSpec()), { random: () => 0 })
    const port = (await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })).udp[0]!.port
    client = new UdpClient()
    server.setUser('dave', 'co2')
    server.setUser('alice', null)
    server.setTargetHealth('n1', false)
    server.setSerial(2024010102)
    expect((await ask(port, 'example.test', 6)).answers[0].serial).toBe(2024010102)
    expect((await ask(port, 'alice.example.test', 1)).authorities[0].serial).toBe(2024010102)
    expect((await ask(port, 'dave.example.test', 1)).answers.map((r) => r.address ?? r.domain)).toEqual(['co2.example.test', '192.0.2.12'])
    expect((await ask(port, 'bob-2.example.test', 1)).an).toBe(2)
    expect((await ask(port, 'reg.example.test', 1)).answers[0].address).toBe('198.51.100.2')
  })

  it('setLimits caps EDNS answers at the new UDP size from the next packet (the 660-octet TXT)', async () => {
    server = new DnsServer(compileZone(exampleSpec()))
    const port = (await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })).udp[0]!.port
    client = new UdpClient()
    const big = async (): Promise<Decoded> => decode((await client!.query(buildQuery('big.example.test', 16, { id: id++, edns: { udpSize: 4096 } }), port))!)
    expect([(await big()).tc, (await big()).opt?.udpSize]).toEqual([false, 1232])
    const limits = { tcpIdleTimeoutMs: 10_000, tcpConnectionsPerSource: 10, rateLimit: { ratePerSecond: 200, slip: 2, ipv4PrefixLength: 24, ipv6PrefixLength: 64, exempt: [] } }
    server.setLimits({ ...limits, maxUdpPayload: 600 })
    const capped = await big()
    expect([capped.tc, capped.an, capped.opt?.udpSize, capped.size <= 600]).toEqual([true, 0, 600, true])
    server.setLimits({ ...limits, maxUdpPayload: 1232 })
    expect((await big()).tc).toBe(false)
  })

  it('expired ACME records vanish on refresh (injected clock); users set since are kept', async () => {
    let now = 1_000
    const acme = [{ value: 'soon-gone', expiresAtMs: 2_000 }]
    server = new DnsServer(compileZone(exampleSpec({ acme }), now), { now: () => now })
    const port = (await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })).udp[0]!.port
    client = new UdpClient()
    server.setUser('erin', 'co1')
    expect((await ask(port, '_acme-challenge.example.test', 16)).answers[0].data).toEqual(['soon-gone'])
    now = 2_500
    server.refreshExpired()
    expect((await ask(port, '_acme-challenge.example.test', 16)).rcode).toBe(3)
    expect((await ask(port, 'erin.example.test', 1)).an).toBe(2)
    expect(server.zone.nextExpiryMs).toBe(Number.POSITIVE_INFINITY)
  })

  it('counters: queries by qtype, responses by rcode, weighted answers per target', async () => {
    server = new DnsServer(compileZone(exampleSpec()), { random: () => 0.99 })
    const port = (await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })).udp[0]!.port
    client = new UdpClient()
    await ask(port, 'reg.example.test', 1)
    await ask(port, 'nope.example.test', 28)
    await ask(port, 'example.org', 1)
    await ask(port, 'big.example.test', 16)
    client.send(buildQuery('x.example.test', 1, { qr: true }), port)
    await ask(port, 'co1.example.test', 1)
    expect(server.counters()).toEqual({
      queriesByType: { A: 3, AAAA: 1, TXT: 1 },
      responsesByRcode: { NOERROR: 3, NXDOMAIN: 1, REFUSED: 1 },
      weightedAnswers: { 'reg.example.test': { n3: 1 } },
      dropped: 1,
      truncated: 1,
      tcpRefused: 0,
      rateLimited: { slipped: { answer: 0, nodata: 0, nxdomain: 0, error: 0 }, dropped: { answer: 0, nodata: 0, nxdomain: 0, error: 0 }, exempted: 0 }
    })
  })

  it('weighted answer counts survive recompiles, and two servers on one compiled zone count apart', async () => {
    const zone = compileZone(exampleSpec())
    server = new DnsServer(zone, { random: () => 0.99 })
    const other = new DnsServer(zone, { random: () => 0.99 })
    try {
      const port = (await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })).udp[0]!.port
      const otherPort = (await other.start({ udp: [{ host: '127.0.0.1', port: 0 }] })).udp[0]!.port
      client = new UdpClient()
      await ask(port, 'reg.example.test', 1)
      await ask(otherPort, 'reg.example.test', 1)
      await ask(port, 'reg.example.test', 1)
      server.setZone(compileZone(exampleSpec()))
      await ask(port, 'reg.example.test', 1)
      expect(server.counters().weightedAnswers).toEqual({ 'reg.example.test': { n3: 3 } })
      expect(other.counters().weightedAnswers).toEqual({ 'reg.example.test': { n3: 1 } })
    } finally {
      await other.stop()
    }
  })

  it('asks for threads but falls back to one socket when reusePort or the worker build is missing', async () => {
    server = new DnsServer(compileZone(exampleSpec()), { udpThreads: 2 })
    const b = await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })
    // Tests run from TypeScript sources: no dist/dns/worker.js next to server.ts.
    expect(b.udpThreads).toBe(1)
  })
})
