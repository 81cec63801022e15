#!/usr/bin/env node
// Liveness protocol in a seeded simulation (src/membership/liveness-sim.ts): the real LivenessCore on
// every node, a virtual clock, a network that loses and delays messages; the replaced all-to-all
// signed heartbeats on the same network as the reference, in the same run.
//   npm run build && node bench/liveness-sim.js [sizes=50,500] [full=7] [seconds=30] [losses=0.01,0.05] [slow=0.01] [seed=1]
// Per size and loss: messages, signature checks and payload bytes per node per second (full members
// and observers), kill → seen dead for one observer and one full member killed at 2/3 of the run
// (over every surviving node's view), and live members seen dead after a 10 s warm-up.
import { loadavg } from 'node:os'
import { header } from './lib/nodes.js'
import { finish } from './lib/report.js'

const { simulateLiveness } = await import('../dist/membership/liveness-sim.js')

const sizes = (process.argv[2] ?? '50,500').split(',').map(Number)
const full = Number(process.argv[3] ?? 7)
const seconds = Number(process.argv[4] ?? 30)
const losses = (process.argv[5] ?? '0.01,0.05').split(',').map(Number)
const slow = Number(process.argv[6] ?? 0.01)
const seed = Number(process.argv[7] ?? 1)
const COMMAND = `node bench/liveness-sim.js ${sizes.join(',')} ${full} ${seconds} ${losses.join(',')} ${slow} ${seed}`

const f0 = (x) => (Number.isNaN(x) ? '—' : x.toFixed(0))
const f1 = (x) => x.toFixed(1)
const kib = (x) => (x / 1024).toFixed(1)
const detection = (d) => `${f0(d.p50)} / ${f0(d.p99)} / ${f0(d.max)}${d.missed ? ` (${d.missed} never)` : ''}`

const rows = []
const started = performance.now()
for (const nodes of sizes) {
  for (const loss of losses) {
    const t0 = performance.now()
    const r = simulateLiveness({ nodes, full: Math.min(full, nodes - 1), seconds, loss, slow, seed })
    rows.push({ nodes, loss, r, wallS: (performance.now() - t0) / 1000 })
    process.stderr.write(`[liveness-sim] ${nodes} nodes, loss ${loss}: ${((performance.now() - t0) / 1000).toFixed(1)} s\n`)
  }
}

const md = [header('liveness protocol, seeded simulation', COMMAND)]
md.push(`${full} full members (fewer on smaller platforms), the rest observers; ${seconds} simulated seconds; each message lost with the given probability and ${(slow * 100).toFixed(0)} % of them delayed 0.2–2 s (else 1–20 ms); heartbeats every 1 s, dead after 4 s; seed ${seed}. Per node per second, "full / observer". Messages and bytes count a gossiped message once for its publisher and once per node it reaches (gossipsub's forwarding copies are not counted, for either protocol); bytes are JSON payloads. Load average at the start ${loadavg().map((x) => x.toFixed(1)).join(' / ')}; simulated in ${((performance.now() - started) / 1000).toFixed(0)} s.`)
md.push('')
md.push('| nodes | loss | protocol | messages/s per node | signature checks/s per node | payload KiB/s per node | killed observer seen dead, ms p50 / p99 / max | killed full member seen dead, ms p50 / p99 / max | live members seen dead (wrong checks of all; pairs) |')
md.push('|---:|---:|---|---|---|---|---|---|---|')
for (const { nodes, loss, r } of rows) {
  for (const [name, p] of [['direct to full members + reports', r.protocol], ['reference: all-to-all signed heartbeats', r.reference]]) {
    md.push(`| ${nodes} | ${(loss * 100).toFixed(0)} % | ${name} | ${f1(p.messagesPerSecond.full)} / ${f1(p.messagesPerSecond.observer)} | ${f1(p.signatureChecksPerSecond.full)} / ${f1(p.signatureChecksPerSecond.observer)} | ${kib(p.bytesPerSecond.full)} / ${kib(p.bytesPerSecond.observer)} | ${detection(p.detection.observer)} | ${detection(p.detection.full)} | ${p.falsePositives.wrong} of ${p.falsePositives.checks}; ${p.falsePositives.pairs} |`)
  }
}
finish('liveness-sim', {
  title: 'Liveness protocol, seeded simulation',
  command: COMMAND,
  markdown: md.join('\n'),
  figures: rows.map(({ nodes, loss, r, wallS }) => ({ nodes, loss, wallS, protocol: r.protocol, reference: r.reference }))
})
