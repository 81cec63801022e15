// What an idle node pays for at start (issue 11: idle RSS with DNS ≤ 100 MB). A node started with
// nothing configured beyond its mesh and DNS loads none of the heavy modules of the features it does
// not use, and answers DNS on its main thread: the extra UDP threads (a V8 isolate each, ≈ 14 MB)
// start only under load (src/dns/server.ts threadsOnDemand; the threads themselves are tested in
// test/dns/threads.test.ts).
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { BIN, cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'
import { buildQuery, decode, UdpClient } from '../dns/helpers.js'

const TRACE_HOOK = resolve(import.meta.dirname, '../support/module-trace.mjs')
// The pinned Node 24: the one the project runs on, with dgram reusePort (UDP threads possible).
const NODE24 = resolve(import.meta.dirname, '../../node_modules/.bin/node')

/**
 * Heavy modules (tens of MB of resident memory each in a bare Node process) that only a configured
 * feature needs: the Docker engine client (--services docker), Prometheus metrics (--metrics, first
 * scrape), ACME (certificates), release archives (tar: a release uploaded or packed), progress bars
 * (CLI only).
 */
const HEAVY = /node_modules\/(dockerode|docker-modem|ssh2|prom-client|acme-client|tar|cli-progress)\//

const nodes: NodeProcess[] = []
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.stop()))
  cleanupTempDirs()
})

/** An idle node on its own data dir: mesh and DNS on loopback, no admin app, no services, no metrics. */
function idleNode(execPath: string, nodeArgs: string[], env: Record<string, string>, dnsHost: string): NodeProcess {
  const dataDir = tempDir('pn-idle-')
  const args = ['init-platform', '--domain', 'pryv.test', '--name', 'idle1', '--listen', `${dnsHost}:0`, '--dns', `${dnsHost}:0`, '--admin', 'none', '--json']
  const proc = spawn(execPath, [...nodeArgs, BIN, '--data-dir', dataDir, ...args], {
    env: { ...process.env, PRYV_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const node = NodeProcess.adopt(proc, dataDir)
  nodes.push(node)
  return node
}

/** Asks the node's DNS server for its own name until it answers. */
async function answered(ready: Record<string, unknown>): Promise<void> {
  const dns = (ready.dns as string[])[0]!
  const port = Number(dns.slice(dns.lastIndexOf(':') + 1))
  const host = dns.slice(0, dns.lastIndexOf(':'))
  const client = new UdpClient()
  try {
    for (let i = 0; i < 50; i++) {
      const reply = await client.query(buildQuery('idle1.pryv.test', 1, { id: i + 1 }), port, host, 500)
      if (reply !== null && decode(reply).answers.length > 0) return
    }
    throw new Error('the node never answered its own name')
  } finally {
    client.close()
  }
}

describe('an idle node with DNS', () => {
  it('loads none of the heavy modules of features it does not use', async () => {
    const trace = join(tempDir('pn-idle-trace-'), 'modules.txt')
    const node = idleNode(process.execPath, ['--import', TRACE_HOOK], { PRYV_TEST_MODULE_TRACE: trace }, '127.0.63.1')
    await answered(await node.ready())
    // Idle for a moment: what loads on a timer (heartbeats, compaction checks, health polls) counts too.
    await new Promise((r) => setTimeout(r, 2000))
    const modules = readFileSync(trace, 'utf8').split('\n').filter((l) => l !== '')
    // The trace works: it saw the DNS server and libp2p.
    expect(modules.some((m) => m.endsWith('/dist/dns/server.js'))).toBe(true)
    expect(modules.some((m) => /node_modules\/libp2p\//.test(m))).toBe(true)
    expect([...new Set(modules.filter((m) => HEAVY.test(m)).map((m) => HEAVY.exec(m)![1]))]).toEqual([])
  })

  // UDP threads need several cores, and dgram reusePort (Node ≥ 22.12): where they cannot run at all,
  // this test could not fail.
  it.skipIf(availableParallelism() < 2 || !existsSync(NODE24))('answers on its main thread: no worker thread until the queries call for one', async () => {
    const node = idleNode(NODE24, [], {}, '127.0.63.2')
    await answered(await node.ready())
    await new Promise((r) => setTimeout(r, 2000))
    // Node names a worker_threads thread "WorkerThread" (a DNS worker started with the server shows
    // here as one).
    const threads = readdirSync(`/proc/${node.proc.pid}/task`).map((t) => readFileSync(`/proc/${node.proc.pid}/task/${t}/comm`, 'utf8').trim())
    expect(threads).toContain('MainThread')
    expect(threads.filter((t) => t === 'WorkerThread')).toEqual([])
  })
})
