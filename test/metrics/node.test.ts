import { existsSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import dns2 from 'dns2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { declared, sample } from './support.js'

describe('metrics of a running node: `pryv-node metrics` and --metrics over HTTP', () => {
  let node: NodeProcess
  let metricsUrl: string
  let dnsPort: number

  const query = (name: string, type: 'A' | 'AAAA' | 'TXT' = 'A'): Promise<unknown> =>
    dns2.UDPClient({ dns: '127.0.0.1', port: dnsPort, timeout: 2000, retryOverTCP: false })(name, type)
  const cli = async (): Promise<string> => {
    const r = await runCli(['--data-dir', node.dataDir, 'metrics'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    return r.stdout
  }
  const http = async (): Promise<string> => {
    const res = await fetch(metricsUrl)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    return res.text()
  }

  beforeAll(async () => {
    node = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--metrics', '127.0.0.1:0'])
    const ready = await node.ready()
    dnsPort = Number((ready.dns as string[])[0]!.split(':')[1])
    expect(ready.metrics).toMatch(/^127\.0\.0\.1:\d+$/)
    metricsUrl = `http://${ready.metrics as string}/metrics`
  })

  afterAll(async () => {
    await node?.stop()
    cleanupTempDirs()
  })

  it('prints the Prometheus exposition: node, writer set, members and the process metrics', async () => {
    const text = await cli()
    const types = declared(text)
    for (const name of ['pryv_node_state_revision', 'pryv_node_members', 'pryv_node_writer_set_role', 'pryv_dns_queries_total', 'pryv_dns_responses_total', 'pryv_dns_weighted_answers_total', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      expect(types.has(name), name).toBe(true)
    }
    expect(sample(text, 'pryv_node_info', { name: 'core1', peer_id: String(node.events[0]!.peerId), platform_id: String(node.events[0]!.platformId), domain: 'pryv.test' })).toBe(1)
    expect(sample(text, 'pryv_node_state_revision')).toBeGreaterThan(0)
    expect(sample(text, 'pryv_node_members', { role: 'full' })).toBe(1)
    expect(sample(text, 'pryv_node_member_alive', { member: 'core1' })).toBe(1)
    expect(sample(text, 'pryv_node_writer_set_role', { role: 'leader' })).toBe(1)
    expect(sample(text, 'pryv_node_writer_set_leader', { member: 'core1' })).toBe(1)
    expect(sample(text, 'pryv_dns_up')).toBe(1)
  })

  it('DNS counters move with real queries, in the CLI and over HTTP', async () => {
    const read = (text: string): number[] => [
      sample(text, 'pryv_dns_queries_total', { qtype: 'A' }) ?? 0,
      sample(text, 'pryv_dns_queries_total', { qtype: 'TXT' }) ?? 0,
      sample(text, 'pryv_dns_responses_total', { rcode: 'NXDOMAIN' }) ?? 0,
      sample(text, 'pryv_dns_responses_total', { rcode: 'REFUSED' }) ?? 0,
      sample(text, 'pryv_dns_weighted_answers_total', { name: 'reg.pryv.test', target: 'core1' }) ?? 0
    ]
    const before = read(await cli())
    for (let i = 0; i < 10; i++) await query('reg.pryv.test')
    await query('core1.pryv.test')
    await query('pryv.test', 'TXT')
    await query('nope.pryv.test')
    await query('elsewhere.example')
    const expected = [before[0]! + 13, before[1]! + 1, before[2]! + 1, before[3]! + 1, before[4]! + 10]
    // Worker-thread counters reach the main thread within a second.
    await expect.poll(async () => read(await cli()), { timeout: 5000, interval: 300 }).toEqual(expected)
    expect(read(await http())).toEqual(expected)
    for (let i = 0; i < 5; i++) await query('nope.pryv.test')
    await expect.poll(async () => read(await http())[2], { timeout: 5000, interval: 300 }).toBe(expected[2]! + 5)
  })

  it('`metrics --json` gives the same metrics as JSON', async () => {
    const r = await runCli(['--data-dir', node.dataDir, 'metrics', '--json'])
    expect(r.code).toBe(0)
    const metrics = JSON.parse(r.stdout) as { name: string, help: string, type: string, values: { value: number, labels: Record<string, string> }[] }[]
    const revision = metrics.find((m) => m.name === 'pryv_node_state_revision')
    expect(revision?.help).toMatch(/revision/)
    expect(revision?.values[0]?.value).toBeGreaterThan(0)
  })

  it('the HTTP endpoint answers 404 on any other path', async () => {
    expect((await fetch(metricsUrl.replace(/\/metrics$/, '/'))).status).toBe(404)
    expect((await fetch(`${metricsUrl}/../status`)).status).toBe(404)
  })
})

describe('--metrics refusals happen before the node starts anything', () => {
  afterAll(() => cleanupTempDirs())

  it.each(['0.0.0.0:9464', '[::]:9464', '192.0.2.1:9464'])('%s is not loopback: exit 2, PRYV_METRICS_NOT_LOOPBACK, with a hint; nothing created', async (address) => {
    const dir = tempDir()
    const r = await runCli(['--data-dir', dir, 'init-platform', '--domain', 'pryv.test', '--listen', '127.0.0.1:0', '--dns', 'none', '--metrics', address])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('error PRYV_METRICS_NOT_LOOPBACK')
    expect(r.stderr).toContain('hint: Use 127.0.0.1:<port>')
    expect(existsSync(`${dir}/node.json`)).toBe(false)
  })

  it('refuses it on start and dev too', async () => {
    for (const args of [['start'], ['dev']]) {
      const r = await runCli(['--data-dir', tempDir(), ...args, '--metrics', '10.0.0.1:9464', '--json'])
      expect(r.code, args[0]).toBe(2)
      expect(JSON.parse(r.stdout).error.code).toBe('PRYV_METRICS_NOT_LOOPBACK')
    }
  })

  it('a port in use: exit 7, PRYV_PORT_IN_USE, and the data dir stays empty', async () => {
    const server: Server = createServer()
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
    const port = (server.address() as { port: number }).port
    const dir = tempDir()
    const r = await runCli(['--data-dir', dir, 'init-platform', '--domain', 'pryv.test', '--listen', '127.0.0.1:0', '--dns', 'none', '--metrics', `127.0.0.1:${port}`], { timeoutMs: 30_000 })
    server.close()
    expect(r.code).toBe(7)
    expect(r.stderr).toContain(`error PRYV_PORT_IN_USE: The metrics address 127.0.0.1:${port} is already in use.`)
    expect(existsSync(`${dir}/node.json`)).toBe(false)
  })
})
