// UDP on several threads (SO_REUSEPORT + worker_threads): runs the compiled build under the pinned
// Node 24, since Node 20 has no dgram reusePort and the worker entry exists only in dist/.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildQuery, decode, UdpClient } from './helpers.js'

const root = fileURLToPath(new URL('../../', import.meta.url))
const node24 = `${root}node_modules/.bin/node`
const ready = existsSync(`${root}dist/dns/worker.js`) && existsSync(node24)

let child: ChildProcessWithoutNullStreams
let lines: Interface
let port: number
let threads: number
const nextLine = (): Promise<string> => new Promise((r) => lines.once('line', r))

beforeAll(async () => {
  if (!ready) return
  child = spawn(node24, [fileURLToPath(new URL('./fixtures/threaded-server.mjs', import.meta.url))])
  lines = createInterface({ input: child.stdout })
  const bound = JSON.parse(await nextLine())
  port = bound.udp[0].port
  threads = bound.udpThreads
})
afterAll(() => child?.kill())

/** One query from each of `n` sockets, so the kernel spreads them over the threads' sockets. */
async function fromManySockets(n: number, name: string): Promise<string[][]> {
  const clients = Array.from({ length: n }, () => new UdpClient())
  const replies = await Promise.all(clients.map((c, i) => c.query(buildQuery(name, 1, { id: i + 1 }), port)))
  for (const c of clients) c.close()
  return replies.map((r) => (r === null ? ['no reply'] : decode(r).answers.map((a: any) => a.address ?? a.domain)))
}

describe.skipIf(!ready)('UDP threads (build + Node ≥ 22.12)', () => {
  it('binds 2 sockets on one port and every one answers', async () => {
    expect(threads).toBe(2)
    for (const a of await fromManySockets(40, 'alice.example.test')) expect(a).toEqual(['co1.example.test', '192.0.2.11'])
  })

  it('setUser reaches the worker threads (asynchronously, by message)', async () => {
    child.stdin.write('user alice co2\n')
    expect(await nextLine()).toBe('done')
    let answers: string[][] = []
    for (let attempt = 0; attempt < 20; attempt++) {
      answers = await fromManySockets(40, 'alice.example.test')
      if (answers.every((a) => a[0] === 'co2.example.test')) break
    }
    for (const a of answers) expect(a).toEqual(['co2.example.test', '192.0.2.12'])
  })

  it('setSerial reaches the worker threads, which keep the users set in place', async () => {
    child.stdin.write('serial 7\n')
    expect(await nextLine()).toBe('done')
    const serials = async (): Promise<(number | null)[]> => {
      const clients = Array.from({ length: 40 }, () => new UdpClient())
      const replies = await Promise.all(clients.map((c, i) => c.query(buildQuery('example.test', 6, { id: i + 1 }), port)))
      for (const c of clients) c.close()
      return replies.map((r) => (r === null ? null : decode(r).answers[0].serial))
    }
    let seen = await serials()
    for (let attempt = 0; attempt < 20 && !seen.every((s) => s === 7); attempt++) seen = await serials()
    expect(new Set(seen)).toEqual(new Set([7]))
    for (const a of await fromManySockets(40, 'alice.example.test')) expect(a).toEqual(['co2.example.test', '192.0.2.12'])
  })

  it('rate limits reach the worker threads: each thread limits the flows it receives', async () => {
    child.stdin.write('limit 1 1\n')
    expect(await nextLine()).toBe('done')
    await new Promise((r) => setTimeout(r, 200))
    const clients = Array.from({ length: 40 }, () => new UdpClient())
    const replies = await Promise.all(clients.map((c, i) => c.query(buildQuery('alice.example.test', 1, { id: i + 1 }), port)))
    for (const c of clients) c.close()
    const slips = replies.filter((r) => r !== null && decode(r).tc && decode(r).an === 0).length
    // Per thread: one answer from a full bucket (plus one per second of refill), then slips.
    expect(slips).toBeGreaterThanOrEqual(40 - 2 * threads)
  })

  it('counters add up over all threads after stop', async () => {
    child.stdin.write('stop\n')
    const c = JSON.parse(await nextLine())
    expect(c.queriesByType.A).toBeGreaterThanOrEqual(80)
    expect(c.responsesByRcode.NOERROR).toBe(c.queriesByType.A + (c.queriesByType.SOA ?? 0))
    expect(c.rateLimited.slipped.answer).toBeGreaterThanOrEqual(40 - 2 * threads)
  })
})
