// RFC 7766 DNS over TCP, real sockets on 127.0.0.1.
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileZone, DnsServer } from '../../src/dns/index.js'
import { buildQuery, decode, exampleSpec, frame, tcpExchange, UdpClient } from './helpers.js'

let server: DnsServer
let port: number

beforeAll(async () => {
  server = new DnsServer(compileZone(exampleSpec()), { tcpIdleTimeoutMs: 300, maxTcpConnections: 3 })
  const b = await server.start({ udp: [{ host: '127.0.0.1', port: 0 }], tcp: [{ host: '127.0.0.1', port: 0 }] })
  expect(b.tcp[0]!.port).toBe(b.udp[0]!.port)
  port = b.tcp[0]!.port
})
afterAll(() => server.stop())

const closed = (s: Socket): Promise<void> => new Promise((r) => s.once('close', () => r()))
const opened = (s: Socket): Promise<void> => new Promise((r) => s.once('connect', () => r()))

describe('TCP', () => {
  it('RFC 7766 §6.2.1.1: pipelined queries on one connection are all answered, IDs matched', async () => {
    const names = ['co1.example.test', 'nope.example.test', 'reg.example.test', 'example.test']
    const payload = Buffer.concat(names.map((n, i) => frame(buildQuery(n, 1, { id: 100 + i }))))
    const replies = (await tcpExchange(port, payload, names.length)).map(decode)
    expect(replies.map((r) => [r.id, r.qname, r.rcode])).toEqual([
      [100, names[0], 0],
      [101, names[1], 3],
      [102, names[2], 0],
      [103, names[3], 0]
    ])
  })

  it('RFC 7766 §5: a truncated UDP answer comes back whole over TCP', async () => {
    const q = buildQuery('big.example.test', 16, { id: 9 })
    const udp = new UdpClient()
    const u = decode((await udp.query(q, port))!)
    udp.close()
    expect(u.tc).toBe(true)
    const [t] = (await tcpExchange(port, frame(q), 1)).map(decode)
    expect(t!.tc).toBe(false)
    expect(t!.answers[0].data.join('')).toHaveLength(600)
    expect(t!.size).toBeGreaterThan(512)
  })

  it('RFC 7766 §8: a message split across segments is reassembled', async () => {
    const f = frame(buildQuery('co1.example.test', 1, { id: 5 }))
    const s = connect(port, '127.0.0.1')
    await opened(s)
    const reply = new Promise<Buffer>((r) => s.once('data', r))
    s.write(f.subarray(0, 1))
    await new Promise((r) => setImmediate(r))
    s.write(f.subarray(1, 9))
    await new Promise((r) => setImmediate(r))
    s.write(f.subarray(9))
    const d = decode((await reply).subarray(2))
    expect([d.id, d.answers[0].address]).toEqual([5, '192.0.2.11'])
    s.destroy()
  })

  it('RFC 7766 §6.2.3: idle connections are closed by the server', async () => {
    const s = connect(port, '127.0.0.1')
    await opened(s)
    await closed(s)
  })

  it('a frame shorter than a DNS header closes the connection', async () => {
    const s = connect(port, '127.0.0.1')
    await opened(s)
    s.write(Buffer.from([0, 3, 1, 2, 3]))
    await closed(s)
  })

  it('connections beyond maxTcpConnections are dropped; the others keep working', async () => {
    const keep = [0, 1, 2].map(() => connect(port, '127.0.0.1'))
    await Promise.all(keep.map(opened))
    const extra = connect(port, '127.0.0.1')
    await closed(extra)
    const reply = new Promise<Buffer>((r) => keep[0]!.once('data', r))
    keep[0]!.write(frame(buildQuery('co2.example.test', 1, { id: 6 })))
    expect(decode((await reply).subarray(2)).answers[0].address).toBe('192.0.2.12')
    for (const s of keep) s.destroy()
  })
})
