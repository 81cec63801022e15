#!/usr/bin/env node
// Join and footprint benchmark: real node processes on loopback, each with its DNS server on.
//   npm run build && node bench/join.js [joins=10] [idleSeconds=10]
// Measures invite → joined (the joiner's ready line), → synced and answering DNS (its DNS server
// answers for a user written before it joined) and → visible as up in every member's status, then
// each node's idle RSS and CPU over a window, next to a bare Node process measured in the same run.
// Every node serves its admin app, as by default (on port 0, so that the nodes of one machine do not
// collide); its RSS is split into anonymous memory (heaps) and file-backed pages (mostly the Node
// binary's code, shared with every other Node process on the machine, but counted in each one's RSS).
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { dnsClient } from './lib/dns-client.js'
import { CLK_TCK, control, header, lab, pct, sample, sleep } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const joins = Number(process.argv[2] ?? 10)
const idleSeconds = Number(process.argv[3] ?? 10)
const NODE_ARGS = ['--listen', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0']
const l = lab()
onInterrupt(() => l.close())

/** Anonymous and file-backed resident memory (MB), and the worker threads, of a process. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)[1]) / 1024
  const workers = readdirSync(`/proc/${pid}/task`).filter((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === 'WorkerThread').length
  return { anonMb: kb('RssAnon'), fileMb: kb('RssFile') + kb('RssShmem'), workers }
}

try {
  const nodes = [l.start('n0', ['init-platform', '--domain', 'pryv.test', '--name', 'n0', ...NODE_ARGS])]
  await nodes[0].ready
  await control(nodes[0], 'dns.users.set', { users: { synced: 'n0' } })
  const dns = dnsClient({ timeoutMs: 200 })
  const joinedMs = []
  const answeringMs = []
  const visibleMs = []
  for (let i = 1; i <= joins; i++) {
    const { invite } = await control(nodes[0], 'invite.create')
    const t0 = performance.now()
    const n = l.start(`n${i}`, ['join-platform', invite, '--name', `n${i}`, ...NODE_ARGS])
    const ready = await n.ready
    joinedMs.push(performance.now() - t0)
    nodes.push(n)
    const [host, port] = [ready.dns[0].slice(0, ready.dns[0].lastIndexOf(':')), Number(ready.dns[0].slice(ready.dns[0].lastIndexOf(':') + 1))]
    for (;;) {
      const a = await dns.ask(host, 'synced.pryv.test', 1, port)
      if (a.rcode === 0 && a.addresses?.length) break
      await sleep(5)
    }
    answeringMs.push(performance.now() - t0)
    for (;;) {
      const all = await Promise.all(nodes.map((m) => control(m, 'status')))
      if (all.every((s) => s.members.filter((m) => m.alive).length === nodes.length)) break
      await sleep(50)
    }
    visibleMs.push(performance.now() - t0)
  }

  dns.close()
  // Reference in the same run: one more member without a DNS server (--dns none), to show its share.
  const { invite } = await control(nodes[0], 'invite.create')
  const noDns = l.start('nodns', ['join-platform', invite, '--name', 'nodns', '--listen', '127.0.0.1:0', '--dns', 'none', '--admin', '127.0.0.1:0'])
  await noDns.ready
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'])
  await sleep(1000)
  const pids = [...nodes.map((n) => n.proc.pid), noDns.proc.pid, bare.pid]
  const before = pids.map(sample)
  await sleep(idleSeconds * 1000)
  const after = pids.map(sample)
  const memory = pids.map(memoryOf)
  bare.kill()
  const cpuPct = pids.map((_, i) => ((after[i].cpuTicks - before[i].cpuTicks) / CLK_TCK / idleSeconds) * 100)
  const nodeRss = after.slice(0, -2).map((s) => s.rssMb)
  const nodeCpu = cpuPct.slice(0, -2)
  const nodeMemory = memory.slice(0, -2)

  const f = (x) => x.toFixed(0)
  const split = (m) => `${f(m.anonMb)} / ${f(m.fileMb)}`
  const md = [header('join and footprint', `node bench/join.js ${joins} ${idleSeconds}`)]
  md.push('| figure | p50 | max | goal |')
  md.push('|---|---|---|---|')
  md.push(`| invite → joined (ready), ms, ${joins} joins | ${f(pct(joinedMs, 50))} | ${f(Math.max(...joinedMs))} | ≤ 3000 |`)
  md.push(`| invite → synced and answering DNS (a user written before the join), ms | ${f(pct(answeringMs, 50))} | ${f(Math.max(...answeringMs))} | ≤ 3000 |`)
  md.push(`| invite → up in every member's status, ms | ${f(pct(visibleMs, 50))} | ${f(Math.max(...visibleMs))} | ≤ 3000 |`)
  md.push(`| idle RSS per node with its DNS server, MB (${nodes.length} nodes) | ${f(pct(nodeRss, 50))} | ${f(Math.max(...nodeRss))} | ≤ 100 |`)
  md.push(`| of which anonymous / file-backed, MB | ${split({ anonMb: pct(nodeMemory.map((m) => m.anonMb), 50), fileMb: pct(nodeMemory.map((m) => m.fileMb), 50) })} | ${split(nodeMemory[nodeRss.indexOf(Math.max(...nodeRss))])} (the largest) | |`)
  md.push(`| worker threads per node (DNS UDP threads beyond the main thread), max | ${Math.max(...nodeMemory.map((m) => m.workers))} | | |`)
  md.push(`| idle CPU per node, % of a core over ${idleSeconds} s | ${pct(nodeCpu, 50).toFixed(2)} | ${Math.max(...nodeCpu).toFixed(2)} | |`)
  md.push(`| same run, one member without a DNS server (\`--dns none\`), RSS MB / CPU % (anonymous / file-backed MB) | ${f(after.at(-2).rssMb)} / ${cpuPct.at(-2).toFixed(2)} (${split(memory.at(-2))}) | | |`)
  md.push(`| reference: bare Node process, RSS MB / CPU % (anonymous / file-backed MB) | ${f(after.at(-1).rssMb)} / ${cpuPct.at(-1).toFixed(2)} (${split(memory.at(-1))}) | | |`)
  finish('join', {
    title: 'Join and footprint',
    command: `node bench/join.js ${joins} ${idleSeconds}`,
    markdown: md.join('\n'),
    goals: [
      goal(`join: invite → joined, synced and answering DNS, p50 ms over ${joins} joins`, Number(f(pct(answeringMs, 50))), '≤ 3000', (x) => x <= 3000),
      goal('join: invite → up in every member\'s status, p50 ms', Number(f(pct(visibleMs, 50))), '≤ 3000', (x) => x <= 3000),
      goal(`idle RSS per node, MB (max of ${nodes.length})`, Number(f(Math.max(...nodeRss))), '≤ 100', (x) => x <= 100)
    ],
    figures: { joinedMs, answeringMs, visibleMs, nodeRss, nodeCpu, nodeMemory, noDns: { rssMb: after.at(-2).rssMb, cpuPct: cpuPct.at(-2), ...memory.at(-2) }, bare: { rssMb: after.at(-1).rssMb, cpuPct: cpuPct.at(-1), ...memory.at(-1) } }
  })
} finally {
  await l.close()
}
