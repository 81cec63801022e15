#!/usr/bin/env node
// Join and footprint benchmark: real node processes on loopback.
//   npm run build && node bench/join.js [joins=5] [idleSeconds=10]
// Measures invite → joined (the joiner's ready line) and → visible as up in every member's status,
// then each node's idle RSS and CPU over a window, next to a bare Node process measured in the same run.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir, cpus } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'

const run = promisify(execFile)
const BIN = resolve(import.meta.dirname, '../bin/pryv-node.js')
const joins = Number(process.argv[2] ?? 5)
const idleSeconds = Number(process.argv[3] ?? 10)
const root = mkdtempSync(join(tmpdir(), 'pn-bench-'))
const procs = []

function startNode(dir, args) {
  const proc = spawn(process.execPath, [BIN, '--data-dir', dir, ...args, '--json'], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] })
  procs.push(proc)
  const ready = new Promise((res, rej) => {
    createInterface({ input: proc.stdout }).on('line', (l) => { try { const e = JSON.parse(l); if (e.event === 'ready') res(e) } catch {} })
    proc.on('exit', (c) => rej(new Error(`node exited ${c}`)))
  })
  return { proc, dir, ready }
}

const cli = async (dir, ...args) => JSON.parse((await run(process.execPath, [BIN, '--data-dir', dir, ...args, '--json'], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' } })).stdout)
// Polling status through the control socket directly: spawning the CLI for every poll would measure the CLI.
const { callControl } = await import('../dist/control/client.js')
const status = (dir) => callControl(join(dir, 'control.sock'), 'status')

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] }

function sample(pid) {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return { rssMb: rssKb / 1024, cpuTicks: Number(f[11]) + Number(f[12]) }
}

try {
  const nodes = [startNode(join(root, 'n0'), ['init-platform', '--domain', 'pryv.test', '--name', 'n0', '--listen', '127.0.0.1:0', '--dns', 'none'])]
  await nodes[0].ready
  const joinedMs = []
  const visibleMs = []
  for (let i = 1; i <= joins; i++) {
    const { invite } = await cli(nodes[0].dir, 'invite', 'create')
    const t0 = performance.now()
    const n = startNode(join(root, `n${i}`), ['join-platform', invite, '--name', `n${i}`, '--listen', '127.0.0.1:0', '--dns', 'none'])
    await n.ready
    joinedMs.push(performance.now() - t0)
    nodes.push(n)
    for (;;) {
      const all = await Promise.all(nodes.map((m) => status(m.dir)))
      if (all.every((s) => s.members.filter((m) => m.alive).length === nodes.length)) break
      await new Promise((r) => setTimeout(r, 50))
    }
    visibleMs.push(performance.now() - t0)
  }

  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'])
  procs.push(bare)
  await new Promise((r) => setTimeout(r, 1000))
  const pids = [...nodes.map((n) => n.proc.pid), bare.pid]
  const before = pids.map(sample)
  await new Promise((r) => setTimeout(r, idleSeconds * 1000))
  const after = pids.map(sample)
  const hz = 100
  const cpuPct = pids.map((_, i) => ((after[i].cpuTicks - before[i].cpuTicks) / hz / idleSeconds) * 100)
  const nodeRss = after.slice(0, -1).map((s) => s.rssMb)
  const nodeCpu = cpuPct.slice(0, -1)

  const f = (x) => x.toFixed(0)
  console.log(`# join and footprint — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores (${cpus()[0].model})`)
  console.log(`command: node bench/join.js ${joins} ${idleSeconds}`)
  console.log('')
  console.log('| figure | p50 | max | goal |')
  console.log('|---|---|---|---|')
  console.log(`| invite → joined (ready), ms, ${joins} joins | ${f(pct(joinedMs, 50))} | ${f(Math.max(...joinedMs))} | ≤ 3000 |`)
  console.log(`| invite → up in every member's status, ms | ${f(pct(visibleMs, 50))} | ${f(Math.max(...visibleMs))} | ≤ 3000 |`)
  console.log(`| idle RSS per node, MB (${nodes.length} nodes) | ${f(pct(nodeRss, 50))} | ${f(Math.max(...nodeRss))} | ≤ 100 |`)
  console.log(`| idle CPU per node, % of a core over ${idleSeconds} s | ${pct(nodeCpu, 50).toFixed(2)} | ${Math.max(...nodeCpu).toFixed(2)} | |`)
  console.log(`| reference: bare Node process, RSS MB / CPU % | ${f(after.at(-1).rssMb)} / ${cpuPct.at(-1).toFixed(2)} | | |`)
} finally {
  for (const p of procs) p.kill('SIGKILL')
  rmSync(root, { recursive: true, force: true })
}
