import { execFile } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { BIN, cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'
import { buildQuery } from '../dns/helpers.js'

const run = promisify(execFile)
const hasDig = await run('dig', ['-v']).then(() => true, () => false)
if (!hasDig) console.warn('[skip] platform DNS tests: dig is not installed (apt-get install bind9-dnsutils)')

/** Each node on its own loopback address, so answers tell the nodes apart. */
const IPS = ['127.0.0.11', '127.0.0.12', '127.0.0.13']

describe.skipIf(!hasDig)('DNS answered by every node of a 3-node platform', () => {
  const nodes: NodeProcess[] = []
  const dnsPort: number[] = []

  const dig = async (i: number, name: string, type = 'A'): Promise<string[]> => {
    const { stdout } = await run('dig', [`@${IPS[i]}`, '-p', String(dnsPort[i]), '+short', '+tries=1', '+time=2', name, type])
    return stdout.trim().split('\n').filter(Boolean)
  }

  beforeAll(async () => {
    const args = (i: number): string[] => ['--listen', `${IPS[i]}:0`, '--dns', `${IPS[i]}:0`]
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...args(0)])
    nodes.push(founder)
    const ready = await founder.ready()
    dnsPort.push(Number((ready.dns as string[])[0]!.split(':')[1]))
    for (const i of [1, 2]) {
      const { invite } = await callControl(`${founder.dataDir}/control.sock`, 'invite.create', { role: 'full' }) as { invite: string }
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', `core${i + 1}`, ...args(i)])
      nodes.push(node)
      dnsPort.push(Number(((await node.ready()).dns as string[])[0]!.split(':')[1]))
    }
    const set = await callControl(`${founder.dataDir}/control.sock`, 'dns.users.set', { users: { alice: 'core2' } })
    expect(set).toBeTruthy()
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('gives the same answers on every node once they have the same revision', async () => {
    const answers = async (i: number): Promise<string> => [
      ...(await dig(i, 'core1.pryv.test')),
      ...(await dig(i, 'core3.pryv.test')),
      ...(await dig(i, 'alice.pryv.test')),
      ...(await dig(i, 'pryv.test', 'NS')).sort(),
      (await dig(i, 'pryv.test', 'SOA'))[0]!.split(' ')[2]!
    ].join(' ')
    await expect.poll(async () => new Set(await Promise.all([0, 1, 2].map(answers))).size, { timeout: 15_000, interval: 500 }).toBe(1)
    expect(await answers(0)).toContain('core2.pryv.test. 127.0.0.12')
    // A weighted service name spreads over the three nodes.
    const seen = new Set<string>()
    for (let q = 0; q < 60 && seen.size < 3; q++) for (const a of await dig(q % 3, 'reg.pryv.test')) seen.add(a)
    expect([...seen].sort()).toEqual(IPS)
  })

  it('gives the zone a new SOA serial when users are set or removed, on every node', async () => {
    const serial = async (i: number): Promise<number> => Number((await dig(i, 'pryv.test', 'SOA'))[0]!.split(' ')[2])
    const control = `${nodes[0]!.dataDir}/control.sock`
    const before = await serial(0)
    await callControl(control, 'dns.users.set', { users: { carol: 'core3' } })
    for (const i of [0, 1, 2]) {
      await expect.poll(() => dig(i, 'carol.pryv.test'), { timeout: 10_000, interval: 250 }).toEqual(['core3.pryv.test.', '127.0.0.13'])
      await expect.poll(() => serial(i), { timeout: 5_000, interval: 250 }).toBeGreaterThan(before)
    }
    const afterSet = await serial(0)
    await callControl(control, 'dns.users.remove', { usernames: ['carol'] })
    for (const i of [0, 1, 2]) {
      await expect.poll(() => dig(i, 'carol.pryv.test'), { timeout: 10_000, interval: 250 }).toEqual([])
      await expect.poll(() => serial(i), { timeout: 5_000, interval: 250 }).toBeGreaterThan(afterSet)
    }
  })

  it('serves apex TXT, MX with glue, CAA and custom entries from the platform\'s dns.* settings, on every node', async () => {
    const r = await run(process.execPath, [BIN, '--data-dir', nodes[0]!.dataDir, 'config', 'set',
      'dns.rootTxt=["v=spf1 -all"]',
      'dns.mx=[{"name":"mail.pryv.test","ip":"127.0.0.5","priority":10}]',
      'dns.customEntries={"files":{"ip":"127.0.0.6"}}',
      '-m', 'dns records'], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' } })
    expect(r.stderr).toBe('')
    for (const i of [0, 1, 2]) {
      await expect.poll(() => dig(i, 'pryv.test', 'TXT'), { timeout: 10_000, interval: 250 }).toEqual(['"v=spf1 -all"'])
      expect(await dig(i, 'pryv.test', 'MX')).toEqual(['10 mail.pryv.test.'])
      expect(await dig(i, 'mail.pryv.test')).toEqual(['127.0.0.5'])
      expect(await dig(i, 'pryv.test', 'CAA')).toEqual(['0 issue "letsencrypt.org"'])
      expect(await dig(i, 'files.pryv.test')).toEqual(['127.0.0.6'])
    }
  })

  it('drains a node from weighted answers with its dns.weight=0 machine override', async () => {
    const cli = (args: string[]) => run(process.execPath, [BIN, '--data-dir', nodes[0]!.dataDir, 'config', ...args], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' } })
    await cli(['set', 'dns.weight=0', '--machine', 'core1', '-m', 'drain core1'])
    await expect.poll(async () => {
      const drawn = new Set<string>()
      for (let q = 0; q < 30; q++) for (const a of await dig(q % 3, 'reg.pryv.test')) drawn.add(a)
      return [...drawn].sort()
    }, { timeout: 10_000, interval: 250 }).toEqual([IPS[1], IPS[2]])
    await cli(['unset', 'dns.weight', '--machine', 'core1', '-m', 'undrain core1'])
  })

  it('applies response rate limiting settings without a restart (limit, slip, allow-list)', async () => {
    const cli = (args: string[]) => run(process.execPath, [BIN, '--data-dir', nodes[0]!.dataDir, 'config', ...args], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' } })
    /** 60 questions at once from one socket: how many come back whole, and how many truncated. */
    const burst = async (i: number): Promise<{ answers: number, slips: number }> => {
      const sock = createSocket('udp4')
      const got = { answers: 0, slips: 0 }
      sock.on('message', (m) => {
        if ((m[2]! & 0x02) !== 0) got.slips++
        else got.answers++
      })
      for (let id = 0; id < 60; id++) sock.send(buildQuery('core1.pryv.test', 1, { id }), dnsPort[i]!, IPS[i]!)
      await new Promise((r) => setTimeout(r, 500))
      sock.close()
      return got
    }
    await cli(['set', 'dns.rateLimit=10', 'dns.rateLimitSlip=1', '-m', 'tight rate limit'])
    await expect.poll(() => burst(1), { timeout: 10_000, interval: 1100 }).toEqual({ answers: 10, slips: 50 })
    await cli(['set', 'dns.rateLimitExempt=["127.0.0.0/8"]', '-m', 'exempt loopback'])
    await expect.poll(() => burst(1), { timeout: 10_000, interval: 1100 }).toEqual({ answers: 60, slips: 0 })
    await cli(['unset', 'dns.rateLimit', 'dns.rateLimitSlip', 'dns.rateLimitExempt', '-m', 'default rate limit'])
    await expect.poll(() => burst(1), { timeout: 10_000, interval: 1100 }).toEqual({ answers: 60, slips: 0 })
  })

  it('drops a killed node from weighted answers within seconds', async () => {
    // Both remaining nodes first see core3 up (heard its heartbeats) and draw it.
    for (const i of [0, 1]) {
      await expect.poll(async () => {
        for (let q = 0; q < 30; q++) if ((await dig(i, 'reg.pryv.test')).includes(IPS[2]!)) return true
        return false
      }, { timeout: 10_000, interval: 250 }).toBe(true)
    }
    // The bare domain names every full node, as long as it is alive.
    for (const i of [0, 1]) expect((await dig(i, 'pryv.test')).sort()).toEqual(IPS)
    await nodes[2]!.kill()
    const killedAt = performance.now()
    await expect.poll(async () => {
      const drawn = new Set<string>()
      for (let q = 0; q < 20; q++) for (const a of await dig(q % 2, 'reg.pryv.test')) drawn.add(a)
      return drawn.has(IPS[2]!)
    }, { timeout: 15_000, interval: 250 }).toBe(false)
    // The apex leaves as fast (it stayed ~70 s, until the member was removed, when it was static).
    for (const i of [0, 1]) await expect.poll(async () => (await dig(i, 'pryv.test')).sort(), { timeout: 15_000, interval: 250 }).toEqual(IPS.slice(0, 2))
    expect(performance.now() - killedAt).toBeLessThan(20_000)
  })
})
