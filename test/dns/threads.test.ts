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
const fromManySockets = (n: number, name: string): Promise<string[][]> => fromManySocketsOn(port, n, name)

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

describe.skipIf(!ready)('UDP threads on demand (build + Node ≥ 22.12)', () => {
  let demandChild: ChildProcessWithoutNullStreams
  let demandLines: Interface
  let demandPort: number
  const next = (): Promise<string> => new Promise((r) => demandLines.once('line', r))
  const running = async (): Promise<number> => {
    demandChild.stdin.write('threads\n')
    return Number(await next())
  }
  const waitFor = async (what: () => Promise<boolean>, ms: number): Promise<void> => {
    const end = Date.now() + ms
    while (!(await what())) {
      if (Date.now() > end) throw new Error('condition not reached in time')
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  beforeAll(async () => {
    const demand = { startAtQps: 200, stopBelowQps: 20, stopAfterMs: 1500 }
    demandChild = spawn(node24, [fileURLToPath(new URL('./fixtures/threaded-server.mjs', import.meta.url)), JSON.stringify(demand)])
    demandLines = createInterface({ input: demandChild.stdout })
    const bound = JSON.parse(await next())
    demandPort = bound.udp[0].port
    expect(bound.udpThreads).toBe(1)
  })
  afterAll(() => demandChild?.kill())

  it('answers on the main thread alone while idle, starts the second thread under load and stops it once quiet, answering throughout', async () => {
    // Idle: light queries do not start the second thread (a V8 isolate of its own).
    for (let i = 0; i < 3; i++) {
      const c = new UdpClient()
      expect(await c.query(buildQuery('alice.example.test', 1, { id: 1 }), demandPort)).not.toBeNull()
      c.close()
      await new Promise((r) => setTimeout(r, 300))
    }
    expect(await running()).toBe(1)

    // Load: ~1,000 queries/s from many sockets (all from 127.0.0.1, above the default rate limit:
    // lifted) until the second thread runs; every one answered.
    demandChild.stdin.write('limit 1000000 2\n')
    expect(await next()).toBe('done')
    let load = true
    let unanswered = 0
    let answered = 0
    const flood = (async () => {
      while (load) {
        const replies = await fromManySocketsOn(demandPort, 20, 'alice.example.test')
        for (const a of replies) a[0] === 'no reply' ? unanswered++ : answered++
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    try {
      await waitFor(async () => (await running()) === 2, 15_000)
      // Both threads answer: the same 40 sources reach both sockets of the port.
      for (const a of await fromManySocketsOn(demandPort, 40, 'alice.example.test')) expect(a).toEqual(['co1.example.test', '192.0.2.11'])
    } finally {
      load = false
      await flood
    }
    expect(answered).toBeGreaterThan(0)
    expect(unanswered).toBe(0)

    // Quiet: the second thread stops after stopAfterMs, and the port still answers.
    await waitFor(async () => (await running()) === 1, 15_000)
    for (const a of await fromManySocketsOn(demandPort, 20, 'alice.example.test')) expect(a).toEqual(['co1.example.test', '192.0.2.11'])

    demandChild.stdin.write('stop\n')
    const c = JSON.parse(await next())
    expect(c.queriesByType.A).toBe(answered + 3 + 40 + 20)
  })
})

async function fromManySocketsOn(p: number, n: number, name: string): Promise<string[][]> {
  const clients = Array.from({ length: n }, () => new UdpClient())
  const replies = await Promise.all(clients.map((c, i) => c.query(buildQuery(name, 1, { id: i + 1 }), p)))
  for (const c of clients) c.close()
  return replies.map((r) => (r === null ? ['no reply'] : decode(r).answers.map((a: any) => a.address ?? a.domain)))
}
