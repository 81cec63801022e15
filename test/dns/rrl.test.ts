// Response rate limiting (issue 18): the limiter's rules with a fake clock, then a real flood from
// many loopback sources in one /24 (127.0.99.x) against a running server.
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { compileZone, DnsServer } from '../../src/dns/index.js'
import { DEFAULT_RATE_LIMIT, prefixText, RRL_SEND, type RateLimitConfig, RateLimiter, slipReply } from '../../src/dns/rrl.js'
import { type RateLimitEvent, RateLimitLog } from '../../src/dns/rrl-log.js'
import { DnsCounters } from '../../src/dns/counters.js'
import { respond } from '../../src/dns/respond.js'
import { buildQuery, decode, exampleSpec, frame } from './helpers.js'

const zone = compileZone(exampleSpec())

function respondBytes(name: string, type: number, edns?: { udpSize: number }): Buffer {
  return respond(buildQuery(name, type, edns ? { edns } : {}), false, { zone, random: Math.random, counters: new DnsCounters(), maxUdpPayload: 1232 })!
}

function limiter(config: Partial<RateLimitConfig> = {}, events: string[] = []): { rrl: RateLimiter; clock: { t: number } } {
  const clock = { t: 1_000_000 }
  const rrl = new RateLimiter({ ...DEFAULT_RATE_LIMIT, ratePerSecond: 10, ...config }, () => clock.t, (p, k) => events.push(`${p} ${k}`), 12)
  return { rrl, clock }
}

function tally(rrl: RateLimiter, address: string, r: Buffer, n: number): [number, number, number] {
  const out: [number, number, number] = [0, 0, 0]
  for (let i = 0; i < n; i++) out[rrl.check(address, r)]!++
  return out
}

describe('RateLimiter (fake clock)', () => {
  it('per /24 and answer name: the rate, then 1 in `slip` truncated and the rest dropped; refills with time', () => {
    const events: string[] = []
    const { rrl, clock } = limiter({}, events)
    const a = respondBytes('co1.example.test', 1)
    expect(tally(rrl, '127.0.99.1', a, 50)).toEqual([10, 20, 20])
    // Same /24, another address: the same bucket. Another /24, or another name: fresh buckets.
    expect(tally(rrl, '127.0.99.200', a, 2)).toEqual([0, 1, 1])
    expect(tally(rrl, '127.0.98.1', a, 10)).toEqual([10, 0, 0])
    expect(tally(rrl, '127.0.99.1', respondBytes('co2.example.test', 1), 10)).toEqual([10, 0, 0])
    clock.t += 500
    expect(tally(rrl, '127.0.99.1', a, 10)[RRL_SEND]).toBe(5)
    expect(events).toEqual(['127.0.99.0/24 answer'])
    expect(rrl.snapshot().slipped.answer).toBe(23)
    expect(rrl.snapshot().dropped.answer).toBe(24)
  })

  it('NXDOMAIN for random names shares one bucket per prefix; errors one more; both apart from answers', () => {
    const { rrl } = limiter()
    for (let i = 0; i < 10; i++) expect(rrl.check('192.0.2.1', respondBytes(`r${i}.example.test`, 1))).toBe(RRL_SEND)
    expect(rrl.check('192.0.2.1', respondBytes('r99.example.test', 1))).not.toBe(RRL_SEND)
    expect(tally(rrl, '192.0.2.1', respondBytes('example.org', 1), 10)[RRL_SEND]).toBe(10)
    expect(tally(rrl, '192.0.2.1', respondBytes('co1.example.test', 1), 10)[RRL_SEND]).toBe(10)
    expect(tally(rrl, '192.0.2.1', respondBytes('co1.example.test', 16), 10)[RRL_SEND]).toBe(10)
    const s = rrl.snapshot()
    expect(s.slipped.nxdomain + s.dropped.nxdomain).toBe(1)
  })

  it('IPv6 by /64', () => {
    const { rrl } = limiter()
    const a = respondBytes('co1.example.test', 1)
    expect(tally(rrl, '2001:db8:1:2::1', a, 10)[RRL_SEND]).toBe(10)
    expect(rrl.check('2001:db8:1:2:ffff::9', a)).not.toBe(RRL_SEND)
    expect(tally(rrl, '2001:db8:1:3::1', a, 10)[RRL_SEND]).toBe(10)
    expect(prefixText('2001:db8:1:2:ffff::9', DEFAULT_RATE_LIMIT)).toBe('2001:db8:1:2:0:0:0:0/64')
    expect(prefixText('::ffff:10.1.2.3', { ...DEFAULT_RATE_LIMIT, ipv6PrefixLength: 120 })).toBe('0:0:0:0:0:ffff:a01:200/120')
  })

  it('exempt clients, slip 0 and 1, off, and a new configuration from the next packet', () => {
    const { rrl } = limiter({ exempt: ['127.0.99.0/24', '2001:db8::53'] })
    const a = respondBytes('co1.example.test', 1)
    expect(tally(rrl, '127.0.99.7', a, 30)).toEqual([30, 0, 0])
    expect(tally(rrl, '2001:db8::53', a, 30)).toEqual([30, 0, 0])
    expect(rrl.snapshot().exempted).toBe(40)
    rrl.configure({ ...DEFAULT_RATE_LIMIT, ratePerSecond: 10, slip: 0 })
    expect(tally(rrl, '127.0.99.7', a, 10)).toEqual([0, 0, 10])
    rrl.configure({ ...DEFAULT_RATE_LIMIT, ratePerSecond: 10, slip: 1 })
    expect(tally(rrl, '127.0.99.7', a, 10)).toEqual([0, 10, 0])
    rrl.configure({ ...DEFAULT_RATE_LIMIT, ratePerSecond: 0 })
    expect(rrl.active).toBe(false)
  })

  it('a slip is header and question with TC=1 and no records, never bigger than the question', () => {
    const q = buildQuery('Big.Example.Test', 16, { edns: { udpSize: 4096 } })
    const full = respond(q, false, { zone, random: Math.random, counters: new DnsCounters(), maxUdpPayload: 1232 })!
    const s = decode(slipReply(Buffer.from(full)))
    expect([s.tc, s.an, s.ns, s.ar, s.qname, s.rcode, s.id]).toEqual([true, 0, 0, 0, 'Big.Example.Test', 0, 0x1234])
    expect(s.size).toBeLessThan(q.length)
  })
})

describe('RateLimitLog', () => {
  it('one line when a prefix starts being limited, one when it has been quiet; start lines capped per minute', () => {
    const events: RateLimitEvent[] = []
    const log = new RateLimitLog((e) => events.push(e), 5000, 2)
    log.limited('127.0.99.0/24', 'answer', 0)
    log.limited('127.0.99.0/24', 'nxdomain', 1000)
    log.limited('127.0.98.0/24', 'answer', 1000)
    log.limited('127.0.97.0/24', 'error', 1000)
    log.sweep(4000)
    expect(events).toEqual([
      { event: 'start', prefix: '127.0.99.0/24', kind: 'answer' },
      { event: 'start', prefix: '127.0.98.0/24', kind: 'answer' }
    ])
    expect(log.limitedPrefixes).toBe(3)
    log.sweep(6500)
    expect(events.slice(2)).toEqual([
      { event: 'stop', prefix: '127.0.99.0/24', kinds: ['answer', 'nxdomain'], durationMs: 1000 },
      { event: 'stop', prefix: '127.0.98.0/24', kinds: ['answer'], durationMs: 0 }
    ])
    expect(log.limitedPrefixes).toBe(0)
    log.sweep(60_000)
    expect(events.slice(4)).toEqual([{ event: 'suppressed', prefixes: 1 }])
  })
})

// ----- a real flood ------------------------------------------------------------------------

const RATE = 30
const servers: DnsServer[] = []
const sockets: UdpSocket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.close()
  await Promise.all(servers.splice(0).map((s) => s.stop()))
})

async function startServer(over: Partial<RateLimitConfig> = {}, events: RateLimitEvent[] = []): Promise<{ server: DnsServer; port: number }> {
  const server = new DnsServer(compileZone(exampleSpec()), {
    rateLimit: { ...DEFAULT_RATE_LIMIT, ratePerSecond: RATE, ...over },
    onRateLimit: (e) => events.push(e)
  })
  servers.push(server)
  const b = await server.start({ udp: [{ host: '127.0.0.1', port: 0 }], tcp: [{ host: '127.0.0.1', port: 0 }] })
  expect(b.tcp[0]!.port).toBe(b.udp[0]!.port)
  return { server, port: b.udp[0]!.port }
}

interface Tally {
  sent: number
  bytesIn: number
  answers: number
  slips: number
  bytesOut: number
}

async function bindAt(host: string): Promise<UdpSocket> {
  const s = createSocket('udp4')
  sockets.push(s)
  await new Promise<void>((res) => s.bind(0, host, res))
  return s
}

/** Sends `query` from `sources` at `perSecond` in all for `ms`; counts what comes back to them. */
async function flood(sources: UdpSocket[], port: number, query: Buffer, perSecond: number, ms: number): Promise<Tally & { seconds: number }> {
  const t: Tally = { sent: 0, bytesIn: 0, answers: 0, slips: 0, bytesOut: 0 }
  const onMessage = (m: Buffer): void => {
    t.bytesOut += m.length
    if ((m[2]! & 0x02) !== 0 && m.readUInt16BE(6) === 0) t.slips++
    else t.answers++
  }
  for (const s of sources) s.on('message', onMessage)
  const start = performance.now()
  let i = 0
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) * perSecond) / 1000)
    for (; t.sent < due; t.sent++) {
      query.writeUInt16BE(t.sent & 0xffff, 0)
      sources[i++ % sources.length]!.send(query, port, '127.0.0.1')
      t.bytesIn += query.length
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  await new Promise((r) => setTimeout(r, 300))
  for (const s of sources) s.off('message', onMessage)
  return { ...t, seconds: (performance.now() - start) / 1000 }
}

function tcpAsk(port: number, query: Buffer, localAddress?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) })
    let buf = Buffer.alloc(0)
    s.on('error', reject)
    s.on('close', () => reject(new Error('closed before a reply')))
    s.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        s.removeAllListeners('close')
        s.destroy()
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)))
      }
    })
    s.write(frame(query))
  })
}

describe('a flood from one /24 at 10× the limit (real sockets)', () => {
  it('the prefix gets at most the limit plus slips; another prefix gets every answer; a slipped client gets its answer over TCP', async () => {
    const events: RateLimitEvent[] = []
    const { server, port } = await startServer({}, events)
    const floodSources = await Promise.all(Array.from({ length: 16 }, (_, i) => bindAt(`127.0.99.${i + 1}`)))
    const other = await bindAt('127.0.98.7')
    const q = buildQuery('big.example.test', 16, { edns: { udpSize: 4096 } })
    // The other prefix asks the same question at half the limit during the flood.
    let otherAnswers = 0
    let otherSent = 0
    other.on('message', (m) => {
      if ((m[2]! & 0x02) === 0 && m.readUInt16BE(6) > 0) otherAnswers++
    })
    const timer = setInterval(() => {
      other.send(Buffer.from(q), port, '127.0.0.1')
      otherSent++
    }, 1000 / (RATE / 2))
    // A client inside the limited prefix: a slip sends it to TCP, where it gets the whole answer.
    const slipped = (async () => {
      const me = await bindAt('127.0.99.200')
      await new Promise((r) => setTimeout(r, 600))
      for (let i = 0; i < 20; i++) {
        const got = await new Promise<Buffer | null>((res) => {
          const t = setTimeout(() => res(null), 200)
          me.once('message', (m) => {
            clearTimeout(t)
            res(m)
          })
          me.send(buildQuery('big.example.test', 16, { id: 7000 + i, edns: { udpSize: 4096 } }), port, '127.0.0.1')
        })
        if (got && decode(got).tc) {
          const full = decode(await tcpAsk(port, buildQuery('big.example.test', 16, { id: 9999, edns: { udpSize: 4096 } }), '127.0.99.200'))
          return { tc: true, tcpAnswers: full.an, tcpTc: full.tc }
        }
      }
      return { tc: false, tcpAnswers: 0, tcpTc: false }
    })()
    const f = await flood(floodSources, port, q, RATE * 20, 2500)
    clearInterval(timer)
    await new Promise((r) => setTimeout(r, 200))
    const ratio = f.bytesOut / f.bytesIn
    console.log(
      `flood ${f.sent} q in ${f.seconds.toFixed(2)} s (${(f.sent / f.seconds / RATE).toFixed(1)}× the limit of ${RATE}/s): ` +
        `${f.answers} answers, ${f.slips} slips, bytes out/in ${ratio.toFixed(2)} (unlimited: ${(respondBytes('big.example.test', 16, { udpSize: 4096 }).length / q.length).toFixed(1)}); ` +
        `other prefix ${otherAnswers}/${otherSent}`
    )
    expect(f.sent / f.seconds).toBeGreaterThan(10 * RATE)
    // The limit holds: a second's burst plus the rate over the flood's duration.
    expect(f.answers).toBeLessThanOrEqual(Math.ceil(RATE * (f.seconds + 1)))
    expect(f.answers).toBeGreaterThanOrEqual(RATE)
    // Half of the rest comes back truncated (slip 2; loopback may lose some under load).
    const over = f.sent - f.answers
    expect(f.slips).toBeLessThanOrEqual(Math.ceil(over / 2) + 1)
    expect(f.slips).toBeGreaterThan(over * 0.3)
    expect(ratio).toBeLessThan(2)
    expect(otherAnswers).toBe(otherSent)
    expect(await slipped).toEqual({ tc: true, tcpAnswers: 1, tcpTc: false })
    expect(events).toContainEqual({ event: 'start', prefix: '127.0.99.0/24', kind: 'answer' })
    expect(events.some((e) => e.event === 'start' && e.prefix === '127.0.98.0/24')).toBe(false)
    const c = server.counters()
    expect(c.rateLimited!.slipped.answer + c.rateLimited!.dropped.answer).toBeGreaterThanOrEqual(over)
    expect(server.rateLimitedPrefixes).toBe(1)
  }, 20_000)

  it('amplification under the flood, for the worst questions with and without EDNS: bounded, and printed', async () => {
    const { port } = await startServer()
    const sources = await Promise.all(Array.from({ length: 8 }, (_, i) => bindAt(`127.0.99.${i + 20}`)))
    const cases: [string, number, boolean][] = [
      ['example.test', 255, false],
      ['example.test', 255, true],
      ['big.example.test', 16, false],
      ['big.example.test', 16, true],
      ['example.test', 2, true]
    ]
    for (const [name, type, edns] of cases) {
      const q = buildQuery(name, type, edns ? { edns: { udpSize: 65535 } } : {})
      const f = await flood(sources, port, q, RATE * 10, 1000)
      const unlimited = respondBytes(name, type, edns ? { udpSize: 65535 } : undefined).length
      const ratio = f.bytesOut / f.bytesIn
      console.log(`${name} ${type === 255 ? 'ANY' : type === 16 ? 'TXT' : 'NS'} ${edns ? 'EDNS 65535' : 'no EDNS'}: reply ${unlimited} B for a ${q.length} B query; under the flood bytes out/in ${ratio.toFixed(2)}`)
      expect(unlimited).toBeLessThanOrEqual(edns ? 1232 : 512)
      // Slips are no bigger than the query; answers are limited to RATE per second.
      expect(f.bytesOut).toBeLessThanOrEqual(f.slips * q.length + Math.ceil(RATE * (f.seconds + 1)) * unlimited)
    }
  }, 30_000)

  it('the allow-list exempts a resolver, and new limits apply without a restart', async () => {
    const { server, port } = await startServer()
    const sources = await Promise.all(Array.from({ length: 4 }, (_, i) => bindAt(`127.0.99.${i + 40}`)))
    const q = buildQuery('co1.example.test', 1)
    const limits = { maxUdpPayload: 1232, tcpIdleTimeoutMs: 10_000, tcpConnectionsPerSource: 10 }
    server.setLimits({ ...limits, rateLimit: { ...DEFAULT_RATE_LIMIT, ratePerSecond: RATE, exempt: ['127.0.99.40/30'] } })
    let f = await flood(sources, port, q, RATE * 10, 1000)
    expect([f.slips, f.answers]).toEqual([0, f.sent])
    expect(server.counters().rateLimited!.exempted).toBeGreaterThan(0)
    server.setLimits({ ...limits, rateLimit: { ...DEFAULT_RATE_LIMIT, ratePerSecond: RATE } })
    f = await flood(sources, port, q, RATE * 10, 1000)
    expect(f.answers).toBeLessThanOrEqual(Math.ceil(RATE * (f.seconds + 1)))
    server.setLimits({ ...limits, rateLimit: { ...DEFAULT_RATE_LIMIT, ratePerSecond: 0 } })
    f = await flood(sources, port, q, RATE * 10, 1000)
    expect([f.slips, f.answers]).toEqual([0, f.sent])
  }, 20_000)
})

describe('TCP under a connection flood', () => {
  it('one address holds at most its share of connections; others still get answers; idle ones close', async () => {
    const { server, port } = await startServer()
    server.setLimits({ maxUdpPayload: 1232, tcpIdleTimeoutMs: 400, tcpConnectionsPerSource: 3, rateLimit: DEFAULT_RATE_LIMIT })
    const opened = await Promise.all(
      Array.from({ length: 6 }, () =>
        new Promise<{ closedEarly: boolean; closedAt: number }>((resolve) => {
          const start = performance.now()
          const s = connect({ port, host: '127.0.0.1', localAddress: '127.0.99.60' })
          s.on('error', () => {})
          s.on('close', () => resolve({ closedEarly: performance.now() - start < 300, closedAt: performance.now() - start }))
        })
      )
    )
    expect(opened.filter((o) => o.closedEarly).length).toBe(3)
    // The three held ones were closed by the idle timeout, not before.
    expect(opened.filter((o) => !o.closedEarly).every((o) => o.closedAt >= 350)).toBe(true)
    const d = decode(await tcpAsk(port, buildQuery('co1.example.test', 1), '127.0.98.60'))
    expect([d.rcode, d.an]).toEqual([0, 1])
    expect(server.counters().tcpRefused).toBe(3)
  }, 10_000)
})
