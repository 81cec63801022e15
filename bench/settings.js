#!/usr/bin/env node
// Settings benchmark: real node processes on loopback, demo services run as processes.
//   npm run build && node bench/settings.js [nodes=5] [changes=30]
// Each change sets platform.name through the founder's control socket (the writer) and measures
//   committed: the proposal's reply (validated on the writer, appended, applied there);
//   everywhere: until every node reports (status.settings) that it rendered the change's revision and
//   restarted the one consuming service (demo-web) through the process runtime.
// Status is polled every 5 ms over each node's control socket, so figures include up to ~5 ms of polling.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'

const run = promisify(execFile)
const BIN = resolve(import.meta.dirname, '../bin/pryv-node.js')
const count = Number(process.argv[2] ?? 5)
const changes = Number(process.argv[3] ?? 30)
const root = mkdtempSync(join(tmpdir(), 'pn-bench-'))
const procs = []
const NODE_ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none', '--services', 'process']

function startNode(dir, args) {
  const proc = spawn(process.execPath, [BIN, '--data-dir', dir, ...args, ...NODE_ARGS, '--json'], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] })
  procs.push(proc)
  const ready = new Promise((res, rej) => {
    createInterface({ input: proc.stdout }).on('line', (l) => { try { const e = JSON.parse(l); if (e.event === 'ready') res(e) } catch {} })
    proc.on('exit', (c) => rej(new Error(`node exited ${c}`)))
  })
  return { proc, dir, ready }
}

const cli = async (dir, ...args) => JSON.parse((await run(process.execPath, [BIN, '--data-dir', dir, ...args, '--json'], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' } })).stdout)
const { callControl } = await import('../dist/control/client.js')
const control = (dir, method, params = {}) => callControl(join(dir, 'control.sock'), method, params)
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function renderedEverywhere(nodes, revision) {
  for (;;) {
    const all = await Promise.all(nodes.map((n) => control(n.dir, 'status')))
    if (all.every((s) => (s.settings?.settingsRevision ?? 0) >= revision)) return all.map((s) => s.settings)
    await sleep(5)
  }
}

try {
  const nodes = [startNode(join(root, 'n0'), ['init-platform', '--domain', 'pryv.test', '--name', 'n0'])]
  await nodes[0].ready
  for (let i = 1; i < count; i++) {
    const { invite } = await cli(nodes[0].dir, 'invite', 'create')
    const n = startNode(join(root, `n${i}`), ['join-platform', invite, '--name', `n${i}`])
    await n.ready
    nodes.push(n)
  }
  await renderedEverywhere(nodes, 1)
  await sleep(1000)

  const committedMs = []
  const everywhereMs = []
  let restartedOnly = true
  for (let i = 0; i < changes; i++) {
    const t0 = performance.now()
    const { revision } = await control(nodes[0].dir, 'settings.change', { set: { 'platform.name': `bench ${i}` }, input: 'typed' })
    committedMs.push(performance.now() - t0)
    const reports = await renderedEverywhere(nodes, revision)
    everywhereMs.push(performance.now() - t0)
    restartedOnly &&= reports.every((r) => r.restarted.join() === 'demo-web' && r.failures.length === 0)
    await sleep(50)
  }

  const f = (x) => x.toFixed(0)
  console.log(`# settings change → rendered and restarted on every node — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores (${cpus()[0].model})`)
  console.log(`command: node bench/settings.js ${count} ${changes}`)
  console.log('')
  console.log('| figure | p50 | p99 | max |')
  console.log('|---|---|---|---|')
  console.log(`| change → committed on the writer, ms (${changes} changes) | ${f(pct(committedMs, 50))} | ${f(pct(committedMs, 99))} | ${f(Math.max(...committedMs))} |`)
  console.log(`| change → rendered + demo-web restarted on all ${count} nodes, ms | ${f(pct(everywhereMs, 50))} | ${f(pct(everywhereMs, 99))} | ${f(Math.max(...everywhereMs))} |`)
  console.log('')
  console.log(`only the consuming service (demo-web) restarted, on every node, every time: ${restartedOnly ? 'yes' : 'NO'}`)
} finally {
  for (const p of procs) p.kill('SIGTERM')
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)))
  rmSync(root, { recursive: true, force: true })
}
