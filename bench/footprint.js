#!/usr/bin/env node
// Footprint: gossip bandwidth, RSS and CPU per node, idle and under a steady write rate, with each node
// on its own netlab host so that every byte it sends or receives crosses its own interface.
//   npm run build && node bench/footprint.js [sizes=5,10] [seconds=15] [writesPerSecond=20]
// Per size: the first 5 nodes are full members (the writer set grows to 5 voters), the others
// observers. Bytes are the kernel's counters of each host's eth0 (rx + tx, all protocols: libp2p TCP
// with noise and yamux framing, IP and Ethernet headers included), differenced over the window.
// Writes are dns.users.set of one user through the leader's control socket (what the CLI does).
// Needs root (netlab); without it, says so and measures nothing.
import { control, CLK_TCK, header, lab, sample, sleep } from './lib/nodes.js'
import { hostIp, ifaceCounters, labDown, labUp, netlabUnavailable } from './lib/netlab.js'
import { barChart } from './lib/chart.js'
import { finish, onInterrupt, writeChart } from './lib/report.js'

const sizes = (process.argv[2] ?? '5,10').split(',').map(Number)
const seconds = Number(process.argv[3] ?? 15)
const writeRate = Number(process.argv[4] ?? 20)
const COMMAND = `node bench/footprint.js ${sizes.join(',')} ${seconds} ${writeRate}`
const FULL = 5

const md = [header('footprint: gossip bandwidth, RSS and CPU per node', COMMAND)]
const goals = []
const charts = []
const results = []
let current
onInterrupt(async () => {
  await current?.close()
  labDown()
})

const unavailable = netlabUnavailable()
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const kb = (x) => (x / 1024).toFixed(1)
const w8 = (extra) => (extra.writes / seconds).toFixed(1)

/** What the nodes did over a window, summed: liveness frames and reports, entries gossip brought after a sync (stale). */
function sumCounters(before, after) {
  const sum = {}
  after.forEach((s, k) => {
    for (const [group, values] of [['liveness', s.liveness], ['dropped', s.dropped]]) {
      for (const [name, v] of Object.entries(values ?? {})) {
        const key = `${group}.${name}`
        sum[key] = (sum[key] ?? 0) + v - (before[k][group]?.[name] ?? 0)
      }
    }
  })
  return sum
}

/** Per-node rates over `ms` while `during` runs: bytes/s in+out of eth0, CPU % of a core, RSS at the end. */
async function window(nodes, ms, during) {
  const s0 = await Promise.all(nodes.map((n) => control(n, 'status')))
  const b0 = nodes.map((n) => ifaceCounters(n.host))
  const c0 = nodes.map((n) => sample(n.proc.pid))
  const t0 = performance.now()
  const extra = await during(ms)
  const s = (performance.now() - t0) / 1000
  const b1 = nodes.map((n) => ifaceCounters(n.host))
  const c1 = nodes.map((n) => sample(n.proc.pid))
  const s1 = await Promise.all(nodes.map((n) => control(n, 'status')))
  return {
    extra,
    counters: sumCounters(s0, s1),
    perNode: nodes.map((n, k) => ({
      name: n.name,
      role: n.role,
      rxBps: (b1[k].rxBytes - b0[k].rxBytes) / s,
      txBps: (b1[k].txBytes - b0[k].txBytes) / s,
      pps: (b1[k].rxPackets - b0[k].rxPackets + b1[k].txPackets - b0[k].txPackets) / s,
      cpuPct: ((c1[k].cpuTicks - c0[k].cpuTicks) / CLK_TCK / s) * 100,
      rssMb: c1[k].rssMb
    }))
  }
}

if (unavailable) {
  md.push(`not measured: ${unavailable} (gossip bandwidth needs each node on its own netlab host)`)
} else {
  for (const size of sizes) {
    const l = lab('pnbench-foot-')
    current = { close: () => l.close() }
    try {
      labUp(size)
      const args = (i) => ['--listen', '/ip4/0.0.0.0/tcp/7400', '--announce', `/ip4/${hostIp(i)}/tcp/7400`, '--dns', 'none']
      const nodes = [Object.assign(l.start('n1', ['init-platform', '--domain', 'pryv.test', '--name', 'n1', ...args(1)], { host: 1 }), { role: 'full' })]
      await nodes[0].ready
      for (let i = 2; i <= size; i++) {
        const role = i <= FULL ? 'full' : 'observer'
        const { invite } = await control(nodes[0], 'invite.create', { role })
        const n = Object.assign(l.start(`n${i}`, ['join-platform', invite, '--name', `n${i}`, ...args(i)], { host: i }), { role })
        await n.ready
        nodes.push(n)
      }
      // Settled: every member up everywhere, the writer set at its size.
      for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
        const all = await Promise.all(nodes.map((n) => control(n, 'status')))
        if (all.every((s) => s.members.filter((m) => m.alive).length === size) && all[0].writerSet?.voters.length === Math.min(size, FULL)) break
        await sleep(250)
      }
      await sleep(3000)
      const statuses = await Promise.all(nodes.slice(0, FULL).map((n) => control(n, 'status')))
      const leader = nodes[statuses.findIndex((s) => s.writerSet?.role === 'leader')] ?? nodes[0]
      leader.role = 'leader'
      const idle = await window(nodes, seconds * 1000, (ms) => sleep(ms))
      const busy = await window(nodes, seconds * 1000, async (ms) => {
        const t0 = performance.now()
        let done = 0
        let late = 0
        while (performance.now() - t0 < ms) {
          const due = Math.floor(((performance.now() - t0) / 1000) * writeRate)
          if (done < due) {
            if (due - done > 1) late++
            await control(leader, 'dns.users.set', { users: { [`w${done}`]: 'n1' } })
            done++
          } else await sleep(2)
        }
        return { writes: done, late }
      })
      results.push({ size, idle, busy })
      process.stderr.write(`[footprint] ${size} nodes, counters summed over all nodes: idle ${JSON.stringify(idle.counters)}; writes ${JSON.stringify(busy.counters)}\n`)
      process.stderr.write(`[footprint] ${size} nodes: idle ${kb(median(idle.perNode.map((p) => p.rxBps + p.txBps)))} KiB/s per node, writes ${kb(median(busy.perNode.map((p) => p.rxBps + p.txBps)))} KiB/s\n`)
    } finally {
      await l.close()
      labDown()
      current = undefined
    }
  }

  md.push(`Nodes on netlab hosts (network namespaces on one 2-core machine), ${FULL} full members then observers; windows of ${seconds} s; writes: ${writeRate}/s of one \`dns.users.set\` each through the leader. Bytes: the kernel's eth0 counters of each host, in + out, everything on the wire (libp2p over TCP, noise, yamux, gossipsub: heartbeats every 1 s, log entries, consensus between voters, IHAVE gossip). DNS off (\`--dns none\`): no DNS traffic is counted.`)
  md.push('')
  md.push('| nodes | state | per node: in + out KiB/s, median (min–max) | leader KiB/s | other full members, median KiB/s | observers, median KiB/s | packets/s per node, median | CPU % of a core per node, median (max) | RSS MB per node, median (max) |')
  md.push('|---|---|---|---:|---:|---:|---:|---:|---:|')
  for (const r of results) {
    for (const [state, w] of [['idle', r.idle], [`${w8(r.busy.extra)} writes/s`, r.busy]]) {
      const tot = w.perNode.map((p) => p.rxBps + p.txBps)
      const byRole = (role) => w.perNode.filter((p) => p.role === role).map((p) => p.rxBps + p.txBps)
      const obs = byRole('observer')
      md.push(`| ${r.size} | ${state} | ${kb(median(tot))} (${kb(Math.min(...tot))}–${kb(Math.max(...tot))}) | ${kb(median(byRole('leader')))} | ${kb(median(byRole('full')))} | ${obs.length ? kb(median(obs)) : '—'} | ${median(w.perNode.map((p) => p.pps)).toFixed(0)} | ${median(w.perNode.map((p) => p.cpuPct)).toFixed(1)} (${Math.max(...w.perNode.map((p) => p.cpuPct)).toFixed(1)}) | ${median(w.perNode.map((p) => p.rssMb)).toFixed(0)} (${Math.max(...w.perNode.map((p) => p.rssMb)).toFixed(0)}) |`)
    }
  }
  md.push('')
  md.push('Chart: [bandwidth per node](results/footprint-bandwidth.svg).')
  charts.push(writeChart('footprint-bandwidth.svg', barChart({
    title: 'Gossip bandwidth per node (in + out of its interface), median',
    xLabel: 'platform size and state',
    yLabel: 'KiB/s per node',
    groups: results.flatMap((r) => [`${r.size} nodes, idle`, `${r.size} nodes, ${writeRate} writes/s`]),
    series: [
      { name: 'leader', values: results.flatMap((r) => [r.idle, r.busy].map((w) => median(w.perNode.filter((p) => p.role === 'leader').map((p) => (p.rxBps + p.txBps) / 1024)))) },
      { name: 'other full members', values: results.flatMap((r) => [r.idle, r.busy].map((w) => median(w.perNode.filter((p) => p.role === 'full').map((p) => (p.rxBps + p.txBps) / 1024)))) },
      { name: 'observers', values: results.flatMap((r) => [r.idle, r.busy].map((w) => { const o = w.perNode.filter((p) => p.role === 'observer'); return o.length ? median(o.map((p) => (p.rxBps + p.txBps) / 1024)) : Number.NaN })) }
    ],
    valueLabels: true
  })))
  const first = results[0]
  if (first) goals.push({ figure: `idle RSS per node without DNS at ${first.size} nodes on netlab hosts, MB (max) — the goal is judged in Join`, measured: Number(Math.max(...first.idle.perNode.map((p) => p.rssMb)).toFixed(0)), goal: 'no goal set (reported)', met: null })
  for (const r of results) goals.push({ figure: `gossip bandwidth per node at ${r.size} nodes, idle / ${writeRate} writes/s, KiB/s (median)`, measured: `${kb(median(r.idle.perNode.map((p) => p.rxBps + p.txBps)))} / ${kb(median(r.busy.perNode.map((p) => p.rxBps + p.txBps)))}`, goal: 'no goal set (reported)', met: null })
}
const figures = results.map((r) => {
  const med = (w, role) => median(w.perNode.filter((p) => !role || p.role === role).map((p) => (p.rxBps + p.txBps) / 1024))
  return { size: r.size, idleKiBs: med(r.idle), busyKiBs: med(r.busy), leaderIdleKiBs: med(r.idle, 'leader'), leaderBusyKiBs: med(r.busy, 'leader'), writesPerS: r.busy.extra.writes / seconds }
})
finish('footprint', { title: 'Footprint: gossip bandwidth, RSS and CPU per node', command: COMMAND, markdown: md.join('\n'), goals, charts, figures })
process.exit(0)
