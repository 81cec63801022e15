// Weighted, health-aware answers over real UDP; the server's random source is seeded.
import { afterEach, describe, expect, it } from 'vitest'
import { compileZone, DEFAULT_RATE_LIMIT, DnsServer, seededRandom, type WeightedTargetSpec } from '../../src/dns/index.js'
import { answerAddresses, buildQuery, decode, exampleSpec, UdpClient } from './helpers.js'

const N = 20_000

/** Exact P(target in subset) for successive weighted sampling without replacement. */
function inclusion(weights: number[], k: number): number[] {
  const p = weights.map(() => 0)
  const rec = (avail: number[], left: number, prob: number): void => {
    if (left === 0 || avail.length === 0) return
    const total = avail.reduce((s, i) => s + weights[i]!, 0)
    for (const i of avail) {
      const pi = (prob * weights[i]!) / total
      p[i]! += pi
      rec(
        avail.filter((j) => j !== i),
        left - 1,
        pi
      )
    }
  }
  rec(
    weights.map((_, i) => i),
    k,
    1
  )
  return p
}

let server: DnsServer | undefined
let client: UdpClient | undefined
afterEach(async () => {
  client?.close()
  await server?.stop()
  server = undefined
  client = undefined
})

async function start(targets: WeightedTargetSpec[], subsetSize: number, seed = 42): Promise<number> {
  const spec = exampleSpec({ weighted: [{ name: 'reg', subsetSize, targets }] })
  // One client asks 20,000 times: response rate limiting (on by default) would drop most of it.
  server = new DnsServer(compileZone(spec), { random: seededRandom(seed), rateLimit: { ...DEFAULT_RATE_LIMIT, ratePerSecond: 0 } })
  const bound = await server.start({ udp: [{ host: '127.0.0.1', port: 0 }] })
  client = new UdpClient()
  return bound.udp[0]!.port
}

/** Sends `count` A queries for reg (100 in flight) and returns the address list of each answer. */
async function sample(port: number, count: number): Promise<string[][]> {
  const out: string[][] = []
  while (out.length < count) {
    const batch = Math.min(100, count - out.length)
    const queries = Array.from({ length: batch }, (_, i) => buildQuery('reg.example.test', 1, { id: i + 1 }))
    // A reply lost under load is simply asked again.
    for (const r of await client!.queryMany(queries, port)) if (r !== null) out.push(answerAddresses(r))
  }
  return out
}

const target = (n: number, weight: number, healthy = true): WeightedTargetSpec => ({
  id: `t${n}`,
  addresses: [`198.51.100.${n}`],
  weight,
  healthy
})

describe('weighted answers', () => {
  it.each([
    { k: 1, weights: [6, 3, 1] },
    { k: 2, weights: [5, 3, 2] },
    { k: 2, weights: [1, 1, 1, 7] }
  ])(`subset of $k from weights $weights: share within ±1.5 % of the exact expectation over ${N} queries`, async ({ k, weights }) => {
    // A drained and an unhealthy target ride along and must never appear.
    const port = await start([...weights.map((w, i) => target(i + 1, w)), target(20, 0), target(21, 9, false)], k)
    const answers = await sample(port, N)
    const expected = inclusion(weights, k)
    expect(answers.filter((a) => a.length !== k)).toEqual([])
    weights.forEach((_, i) => {
      const share = answers.filter((a) => a.includes(`198.51.100.${i + 1}`)).length / N
      expect(Math.abs(share - expected[i]!)).toBeLessThanOrEqual(0.015)
    })
    expect(answers.some((a) => a.includes('198.51.100.20') || a.includes('198.51.100.21'))).toBe(false)
    const counted = server!.counters().weightedAnswers['reg.example.test']!
    expect(Object.values(counted).reduce((s, n) => s + n, 0)).toBe(N * k)
  })

  it('a target marked unhealthy leaves the very next answer; null restores the spec flag', async () => {
    const port = await start([target(1, 100), target(2, 1)], 1)
    expect((await sample(port, 20)).flat()).toContain('198.51.100.1')
    server!.setTargetHealth('t1', false)
    expect(new Set((await sample(port, 200)).flat())).toEqual(new Set(['198.51.100.2']))
    // The override survives a new zone built from a spec that still says healthy.
    server!.setZone(compileZone(exampleSpec({ weighted: [{ name: 'reg', targets: [target(1, 100), target(2, 1)] }] })))
    expect(new Set((await sample(port, 200)).flat())).toEqual(new Set(['198.51.100.2']))
    server!.setTargetHealth('t1', null)
    expect((await sample(port, 50)).flat()).toContain('198.51.100.1')
  })

  it('a target unhealthy in the next spec is gone after setZone', async () => {
    const port = await start([target(1, 1), target(2, 1)], 1)
    server!.setZone(compileZone(exampleSpec({ weighted: [{ name: 'reg', targets: [target(1, 1, false), target(2, 1)] }] })))
    expect(new Set((await sample(port, 200)).flat())).toEqual(new Set(['198.51.100.2']))
  })

  it('every target down → all positive-weight targets, drained ones still excluded', async () => {
    const port = await start([target(1, 5, false), target(2, 1, false), target(3, 0, false)], 1)
    const answers = await sample(port, 20)
    for (const a of answers) expect(a.sort()).toEqual(['198.51.100.1', '198.51.100.2'])
  })

  it('every target drained → NODATA with SOA (RFC 2308 §2.2)', async () => {
    const port = await start([target(1, 0), target(2, 0)], 1)
    const d = decode((await client!.query(buildQuery('reg.example.test', 1), port))!)
    expect([d.rcode, d.an, d.authorities[0]?.type]).toEqual([0, 0, 6])
  })

  it('the same seed gives the same answers', async () => {
    const ts = [target(1, 1), target(2, 1), target(3, 1)]
    const first = await sample(await start(ts, 2, 7), 50)
    client!.close()
    await server!.stop()
    const second = await sample(await start(ts, 2, 7), 50)
    expect(second).toEqual(first)
  })
})
