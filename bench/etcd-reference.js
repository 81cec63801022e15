#!/usr/bin/env node
// The writer set's reference, measured in the same run: etcd (Debian's etcd-server) as 3 members on
// loopback, the same two figures as bench/writer-set.js (../shared/reference/etcd-reference.md).
//   node bench/etcd-reference.js [puts=300] [failoverTrials=20]
// - sequential put latency through etcd's JSON gateway (HTTP/1.1 keep-alive, /v3/kv/put), to the leader
//   and to a follower: one round trip per put, as our figures include one control-socket round trip;
// - 16 concurrent clients putting to the leader (as many puts in all): throughput and latency;
// - failover: SIGKILL the leader, then a put through a survivor every 10 ms (3 s deadline each, in
//   parallel) until one succeeds; the member is restarted and the cluster healthy before the next trial.
// Timings --heartbeat-interval 50 --election-timeout 500: the closest to the writer set's (50 ms ticks,
// election timeout 450–800 ms). Installs etcd-server with apt-get when missing (root), else says so.
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { header, pct, sleep } from './lib/nodes.js'
import { finish, onInterrupt } from './lib/report.js'

const puts = Number(process.argv[2] ?? 300)
const trials = Number(process.argv[3] ?? 20)
const COMMAND = `node bench/etcd-reference.js ${puts} ${trials}`
const HB = 50
const ET = 500
const members = [1, 2, 3].map((i) => ({ name: `m${i}`, client: `http://127.0.0.1:2379${i}`, peer: `http://127.0.0.1:2380${i}` }))
const dir = mkdtempSync(join(tmpdir(), 'pnbench-etcd-'))
const procs = new Set()

function ensureEtcd() {
  if (spawnSync('etcd', ['--version']).status === 0) return null
  if (process.getuid?.() !== 0) return 'etcd is not installed (apt-get install -y etcd-server)'
  process.stderr.write('installing etcd-server (apt-get install -y --no-install-recommends etcd-server)\n')
  const r = spawnSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server)'], { stdio: ['ignore', 'ignore', 'inherit'] })
  return r.status === 0 && spawnSync('etcd', ['--version']).status === 0 ? null : 'apt-get install etcd-server failed (not in the configured archives?)'
}

function start(m) {
  const p = spawn('etcd', [
    '--name', m.name, '--data-dir', join(dir, m.name),
    '--listen-client-urls', m.client, '--advertise-client-urls', m.client,
    '--listen-peer-urls', m.peer, '--initial-advertise-peer-urls', m.peer,
    '--initial-cluster', members.map((x) => `${x.name}=${x.peer}`).join(','),
    '--initial-cluster-state', 'new', '--initial-cluster-token', 'pn-bench',
    '--heartbeat-interval', String(HB), '--election-timeout', String(ET), '--logger', 'zap', '--log-level', 'error'
  ], { stdio: ['ignore', 'ignore', 'ignore'] })
  procs.add(p)
  p.on('exit', () => procs.delete(p))
  m.proc = p
}

async function stopAll() {
  const exits = [...procs].map((p) => new Promise((r) => p.once('exit', r)))
  for (const p of procs) p.kill('SIGTERM')
  const t = setTimeout(() => { for (const p of procs) p.kill('SIGKILL') }, 5000)
  await Promise.all(exits)
  clearTimeout(t)
  rmSync(dir, { recursive: true, force: true })
}
onInterrupt(stopAll)

const b64 = (s) => Buffer.from(s).toString('base64')
async function post(m, path, body, timeoutMs = 3000) {
  const r = await fetch(`${m.client}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) })
  if (!r.ok) throw new Error(`${path} ${r.status}`)
  return r.json()
}
const put = (m, k, v, timeoutMs) => post(m, '/v3/kv/put', { key: b64(k), value: b64(v) }, timeoutMs)
const status = (m) => post(m, '/v3/maintenance/status', {}, 1000)

/** Every member answers, all name the same leader, applied indexes within 2; returns the leader. */
async function healthy() {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
    const all = await Promise.all(members.map((m) => status(m).catch(() => null)))
    if (all.every(Boolean)) {
      const leaders = new Set(all.map((s) => s.leader))
      const idx = all.map((s) => Number(s.raftIndex))
      if (leaders.size === 1 && all[0].leader !== '0' && Math.max(...idx) - Math.min(...idx) <= 2) return members[all.findIndex((s) => s.header.member_id === s.leader)]
    }
    await sleep(50)
  }
  throw new Error('etcd did not become healthy within 60 s')
}

const f1 = (x) => x.toFixed(1)
const CLIENTS = 16

/** `clients` clients, each putting `each` times in sequence to `m`: latencies and puts per second. */
async function concurrentPuts(m, clients, each) {
  const latencies = []
  const t0 = performance.now()
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; i < each; i++) {
      const t = performance.now()
      await put(m, `conc/${c}/${i % 50}`, 'v'.repeat(32))
      latencies.push(performance.now() - t)
    }
  }))
  return { latencies, writesPerS: latencies.length / ((performance.now() - t0) / 1000) }
}
const md = [header('writer-set reference: etcd, 3 members on loopback', COMMAND)]
let reference
const missing = ensureEtcd()
if (missing) {
  md.push(`not measured: ${missing}`)
} else {
  try {
    const version = /etcd Version: ([\d.]+)/.exec(spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'
    for (const m of members) start(m)
    let leader = await healthy()
    const latency = async (m) => {
      for (let i = 0; i < 100; i++) await put(m, `warm/${i}`, 'v'.repeat(32))
      const xs = []
      for (let i = 0; i < puts; i++) {
        const t = performance.now()
        await put(m, `lat/${i % 50}`, 'v'.repeat(32))
        xs.push(performance.now() - t)
      }
      return xs
    }
    const direct = await latency(leader)
    const follower = await latency(members.find((m) => m !== leader))
    const concurrent = await concurrentPuts(leader, CLIENTS, Math.ceil(puts / CLIENTS))
    const failover = []
    for (let t = 0; t < trials; t++) {
      leader = await healthy()
      await sleep(300)
      const survivor = members[(members.indexOf(leader) + 1 + (t % 2)) % 3]
      await put(survivor, 'fo/warm', String(t))
      const killedAt = performance.now()
      leader.proc.kill('SIGKILL')
      let done
      const attempts = []
      for (let i = 0; i < 3000 && done === undefined && performance.now() - killedAt < 30_000; i++) {
        attempts.push(put(survivor, 'fo/k', String(i), 3000).then(() => { done ??= performance.now() - killedAt }, () => {}))
        await sleep(10)
      }
      await Promise.all(attempts)
      failover.push(done ?? Number.NaN)
      await new Promise((r) => (leader.proc.exitCode !== null || leader.proc.signalCode !== null ? r() : leader.proc.once('exit', r)))
      start(leader)
    }
    await healthy()
    reference = {
      version,
      leader: { p50: pct(direct, 50), p99: pct(direct, 99) },
      follower: { p50: pct(follower, 50), p99: pct(follower, 99) },
      concurrent: { clients: CLIENTS, writesPerS: concurrent.writesPerS, p50: pct(concurrent.latencies, 50), p99: pct(concurrent.latencies, 99) },
      failover: { p50: pct(failover, 50), p99: pct(failover, 99), trials }
    }
    md.push(`etcd ${version} (Debian), 3 members on loopback, --heartbeat-interval ${HB} --election-timeout ${ET}, data on the same disk as the nodes'; client: HTTP/1.1 keep-alive to the JSON gateway.`)
    md.push('')
    md.push('| figure | p50 ms | p99 ms |')
    md.push('|---|---|---|')
    md.push(`| put latency, to the leader (${puts} sequential, after 100 warm-up) | ${f1(reference.leader.p50)} | ${f1(reference.leader.p99)} |`)
    md.push(`| put latency, to a follower | ${f1(reference.follower.p50)} | ${f1(reference.follower.p99)} |`)
    md.push(`| put latency, ${CLIENTS} concurrent clients to the leader (${concurrent.latencies.length} puts): ${Math.round(concurrent.writesPerS)} puts/s | ${f1(reference.concurrent.p50)} | ${f1(reference.concurrent.p99)} |`)
    md.push(`| leader SIGKILL → a put accepted through a survivor (${trials} trials, attempts every 10 ms) | ${f1(reference.failover.p50)} | ${f1(reference.failover.p99)} |`)
  } catch (err) {
    process.stderr.write(`${err.stack}\n`)
    md.push(`**failed**: ${err.message}`)
    process.exitCode = 1
  } finally {
    await stopAll()
  }
}
finish('etcd-reference', { title: 'Writer-set reference: etcd', command: COMMAND, markdown: md.join('\n'), figures: reference })
process.exit(process.exitCode ?? 0)
