#!/usr/bin/env node
// Join and footprint benchmark: real node processes on loopback.
//   npm run build && node bench/join.js [joins=5] [idleSeconds=10]
// Measures invite → joined (the joiner's ready line) and → visible as up in every member's status,
// then each node's idle RSS and CPU over a window, next to a bare Node process measured in the same run.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { control, header, lab, pct, sleep } from './lib/nodes.js'

const joins = Number(process.argv[2] ?? 5)
const idleSeconds = Number(process.argv[3] ?? 10)
const NODE_ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none']
const l = lab()

function sample(pid) {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return { rssMb: rssKb / 1024, cpuTicks: Number(f[11]) + Number(f[12]) }
}

try {
  const nodes = [l.start('n0', ['init-platform', '--domain', 'pryv.test', '--name', 'n0', ...NODE_ARGS])]
  await nodes[0].ready
  const joinedMs = []
  const visibleMs = []
  for (let i = 1; i <= joins; i++) {
    const { invite } = await control(nodes[0], 'invite.create')
    const t0 = performance.now()
    const n = l.start(`n${i}`, ['join-platform', invite, '--name', `n${i}`, ...NODE_ARGS])
    await n.ready
    joinedMs.push(performance.now() - t0)
    nodes.push(n)
    for (;;) {
      const all = await Promise.all(nodes.map((m) => control(m, 'status')))
      if (all.every((s) => s.members.filter((m) => m.alive).length === nodes.length)) break
      await sleep(50)
    }
    visibleMs.push(performance.now() - t0)
  }

  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'])
  await sleep(1000)
  const pids = [...nodes.map((n) => n.proc.pid), bare.pid]
  const before = pids.map(sample)
  await sleep(idleSeconds * 1000)
  const after = pids.map(sample)
  bare.kill()
  const hz = 100
  const cpuPct = pids.map((_, i) => ((after[i].cpuTicks - before[i].cpuTicks) / hz / idleSeconds) * 100)
  const nodeRss = after.slice(0, -1).map((s) => s.rssMb)
  const nodeCpu = cpuPct.slice(0, -1)

  const f = (x) => x.toFixed(0)
  console.log(header('join and footprint', `node bench/join.js ${joins} ${idleSeconds}`))
  console.log('| figure | p50 | max | goal |')
  console.log('|---|---|---|---|')
  console.log(`| invite → joined (ready), ms, ${joins} joins | ${f(pct(joinedMs, 50))} | ${f(Math.max(...joinedMs))} | ≤ 3000 |`)
  console.log(`| invite → up in every member's status, ms | ${f(pct(visibleMs, 50))} | ${f(Math.max(...visibleMs))} | ≤ 3000 |`)
  console.log(`| idle RSS per node, MB (${nodes.length} nodes) | ${f(pct(nodeRss, 50))} | ${f(Math.max(...nodeRss))} | ≤ 100 |`)
  console.log(`| idle CPU per node, % of a core over ${idleSeconds} s | ${pct(nodeCpu, 50).toFixed(2)} | ${Math.max(...nodeCpu).toFixed(2)} | |`)
  console.log(`| reference: bare Node process, RSS MB / CPU % | ${f(after.at(-1).rssMb)} / ${cpuPct.at(-1).toFixed(2)} | | |`)
} finally {
  await l.close()
}
