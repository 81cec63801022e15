import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { answerAddresses, buildQuery, UdpClient } from '../dns/helpers.js'
import { cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'

/**
 * Liveness with real node processes: 3 full members and 3 observers, each on its own loopback
 * address (127.0.77.x: this area's range), DNS on each. Full members are the targets of the
 * weighted names and of the apex; observers are seen through the full members' reports.
 */
const NAMES = ['core1', 'core2', 'core3', 'obs1', 'obs2', 'obs3']
const IPS = NAMES.map((_, i) => `127.0.77.${i + 1}`)
/** SIGUSR2 blocks a node's event loop this long (PRYV_TEST_STALL_ON_SIGUSR2_MS, src/node/membership.ts). */
const STALL_MS = 2000

interface Member { name: string, alive: boolean }

describe('liveness at constant cost: real processes', () => {
  const nodes: NodeProcess[] = []
  const dnsPorts: number[] = []
  const udp = new UdpClient()
  let queryId = 1

  const status = async (i: number): Promise<Member[]> => ((await callControl(`${nodes[i]!.dataDir}/control.sock`, 'status', {}, 10_000)) as { members: Member[] }).members
  const aliveOn = async (i: number): Promise<string[]> => (await status(i)).filter((m) => m.alive).map((m) => m.name).sort()
  /** The addresses node i answers for `name` (A), over a few queries (weighted names answer subsets). */
  const answers = async (i: number, name: string, times = 1): Promise<Set<string>> => {
    const seen = new Set<string>()
    for (let q = 0; q < times; q++) {
      const reply = await udp.query(buildQuery(name, 1, { id: queryId++ & 0xffff }), dnsPorts[i]!, IPS[i]!)
      if (reply) for (const a of answerAddresses(reply)) seen.add(a)
    }
    return seen
  }

  beforeAll(async () => {
    const env = { PRYV_TEST_STALL_ON_SIGUSR2_MS: String(STALL_MS) }
    const args = (i: number): string[] => ['--listen', `${IPS[i]}:0`, '--dns', `${IPS[i]}:0`, '--admin', 'none']
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', NAMES[0]!, ...args(0)], env)
    nodes.push(founder)
    dnsPorts.push(Number(((await founder.ready()).dns as string[])[0]!.split(':')[1]))
    for (let i = 1; i < NAMES.length; i++) {
      const { invite } = await callControl(`${founder.dataDir}/control.sock`, 'invite.create', { role: i < 3 ? 'full' : 'observer' }) as { invite: string }
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', NAMES[i]!, ...args(i)], env)
      nodes.push(node)
      dnsPorts.push(Number(((await node.ready()).dns as string[])[0]!.split(':')[1]))
    }
    // Settled: every node sees every member up.
    for (let i = 0; i < nodes.length; i++) {
      for (const deadline = performance.now() + 30_000; (await aliveOn(i)).length < NAMES.length;) {
        if (performance.now() > deadline) throw new Error(`${NAMES[i]} sees only ${(await aliveOn(i)).join(', ')} up`)
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  }, 180_000)

  afterAll(async () => {
    udp.close()
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it(`a node whose event loop is blocked for ${STALL_MS / 1000} s is not declared dead, and does not declare others dead`, async () => {
    // A full member and an observer, one after the other.
    for (const stalled of [2, 3]) {
      const others = nodes.map((_, i) => i).filter((i) => i !== stalled)
      const seenDown: string[] = []
      nodes[stalled]!.proc.kill('SIGUSR2')
      const until = performance.now() + STALL_MS + 3000
      while (performance.now() < until) {
        for (const i of others) {
          const down = (await status(i)).filter((m) => !m.alive).map((m) => `${m.name} on ${NAMES[i]}`)
          seenDown.push(...down)
        }
      }
      expect(seenDown).toEqual([])
      // It was blocked indeed (it says so once it runs again).
      expect(nodes[stalled]!.stderr).toContain('event loop was blocked')
      // Back: the stalled node still sees everyone up (the time it was blocked counted against no one).
      expect(await aliveOn(stalled)).toEqual([...NAMES].sort())
    }
  }, 60_000)

  it('a full member and an observer killed with SIGKILL leave every node\'s DNS answers and status within seconds, not minutes', async () => {
    const fullIps = IPS.slice(0, 3)
    for (let i = 0; i < nodes.length; i++) expect([...(await answers(i, 'pryv.test'))].sort()).toEqual(fullIps)
    await Promise.all([nodes[2]!.kill(), nodes[5]!.kill()])
    const killedAt = performance.now()
    const survivors = [0, 1, 3, 4]
    // Each survivor watched on its own: kill → both gone from its answers and its status, ms.
    const gone = await Promise.all(survivors.map(async (i) => {
      while (performance.now() - killedAt < 20_000) {
        const [apex, reg, alive] = await Promise.all([answers(i, 'pryv.test'), answers(i, 'reg.pryv.test', 5), aliveOn(i)])
        if (!apex.has(IPS[2]!) && !reg.has(IPS[2]!) && !alive.includes('core3') && !alive.includes('obs3')) return performance.now() - killedAt
      }
      return Number.POSITIVE_INFINITY
    }))
    const times = gone.map((ms, k) => `${NAMES[survivors[k]!]} ${ms.toFixed(0)} ms`).join(', ')
    // About 4–5 s on a quiet machine (the test prints the times); on a loaded CI machine a node's
    // stall compensation and its 1 s of grace stretch it. The bound still tells the protocol apart
    // from a node that waits for the member to be removed (the apex stayed ~70 s before issue 11).
    console.log(`dead nodes left answers and status: ${times}`)
    expect(Math.max(...gone), times).toBeLessThan(15_000)
    // The others stay: the apex names the two full members left, everyone else is up.
    for (const i of survivors) {
      expect([...(await answers(i, 'pryv.test'))].sort()).toEqual(fullIps.slice(0, 2))
      expect(await aliveOn(i)).toEqual(['core1', 'core2', 'obs1', 'obs2'])
    }
  }, 60_000)
})
