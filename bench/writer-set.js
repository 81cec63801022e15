#!/usr/bin/env node
// Writer-set benchmark on loopback, real node processes:
//   npm run build && node bench/writer-set.js [commits=300] [failoverTrials=20]
// - commit latency: one client, sequential writes through a full node's API (its control socket),
//   then through an observer (one more hop);
// - failover: SIGKILL the leader, time until a write through a surviving full node succeeds; the
//   killed node is restarted and the set healed before the next trial.
import { barChart, histogram } from './lib/chart.js'
import { control, header, lab, pct, sleep } from './lib/nodes.js'
import { finish, goal, onInterrupt, writeChart } from './lib/report.js'

const commits = Number(process.argv[2] ?? 300)
const trials = Number(process.argv[3] ?? 20)
const NODE_ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none']
const l = lab('pnbench-ws-')
onInterrupt(() => l.close())
const f1 = (x) => x.toFixed(1)

async function healthy(nodes) {
  for (;;) {
    const all = await Promise.all(nodes.map((n) => control(n, 'status').catch(() => undefined)))
    const leaders = all.filter((s) => s?.writerSet?.role === 'leader')
    if (all.every(Boolean) && leaders.length === 1 && leaders[0].writerSet.voters.length === 3 && new Set(all.map((s) => s.revision)).size === 1) return all
    await sleep(100)
  }
}

try {
  const full = [l.start('c1', ['init-platform', '--domain', 'pryv.test', '--name', 'c1', ...NODE_ARGS])]
  await full[0].ready
  for (const name of ['c2', 'c3', 'o1']) {
    const { invite } = await control(full[0], 'invite.create', { role: name.startsWith('o') ? 'observer' : 'full' })
    const n = l.start(name, ['join-platform', invite, '--name', name, ...NODE_ARGS])
    await n.ready
    if (name.startsWith('c')) full.push(n)
    else full.observer = n
  }
  let statuses = await healthy(full)

  const leaderOf = (all) => full[all.findIndex((s) => s.writerSet?.role === 'leader')]
  const latency = async (node) => {
    const xs = []
    for (let i = 0; i < commits; i++) {
      const t = performance.now()
      await control(node, 'dns.users.set', { users: { [`u${i % 50}`]: 'c1' } })
      xs.push(performance.now() - t)
    }
    return xs
  }
  const direct = await latency(leaderOf(statuses))
  const follower = await latency(full.find((n) => n !== leaderOf(statuses)))
  const viaObserver = await latency(full.observer)

  const failover = []
  for (let t = 0; t < trials; t++) {
    statuses = await healthy(full)
    const i = full.indexOf(leaderOf(statuses))
    const survivor = full[(i + 1) % 3]
    const killedAt = performance.now()
    full[i].proc.kill('SIGKILL')
    for (;;) {
      try {
        await control(survivor, 'dns.users.set', { users: { failover: 'c1' } }, 3000)
        break
      } catch { await sleep(5) }
    }
    failover.push(performance.now() - killedAt)
    await sleep(200)
    full[i] = l.start(full[i].name, ['start', ...NODE_ARGS])
    await full[i].ready
  }

  const md = [header('writer set', `node bench/writer-set.js ${commits} ${trials}`)]
  md.push('| figure | p50 ms | p99 ms | goal |')
  md.push('|---|---|---|---|')
  md.push(`| commit latency, write on the leader (${commits} sequential) | ${f1(pct(direct, 50))} | ${f1(pct(direct, 99))} | p50 ≤ 5 |`)
  md.push(`| commit latency, write on a follower (forwarded to the leader) | ${f1(pct(follower, 50))} | ${f1(pct(follower, 99))} | |`)
  md.push(`| commit latency, write on an observer (nearest full node, then the leader) | ${f1(pct(viaObserver, 50))} | ${f1(pct(viaObserver, 99))} | one extra round trip |`)
  md.push(`| leader SIGKILL → a write accepted again (${trials} trials) | ${f1(pct(failover, 50))} | ${f1(pct(failover, 99))} | p99 ≤ 1000 |`)
  const charts = []
  // Bins of 1, 2 or 5 ms up to the 95th percentile of all three (the last bin holds the tail).
  const p95 = pct([...direct, ...follower, ...viaObserver], 95)
  const step = p95 <= 20 ? 1 : p95 <= 40 ? 2 : 5
  const top = Math.min(30 * step, Math.ceil(p95 / step) * step + step)
  const bins = [direct, follower, viaObserver].map((xs) => histogram(xs, step, top))
  charts.push(writeChart('writer-set-latency.svg', barChart({
    title: `Commit latency, ${commits} sequential writes each (3 full nodes + 1 observer)`,
    xLabel: `latency, ms (bins of ${step} ms)`,
    yLabel: 'writes',
    groups: bins[0].labels,
    series: [
      { name: 'on the leader', values: bins[0].counts },
      { name: 'on a follower', values: bins[1].counts },
      { name: 'on an observer', values: bins[2].counts }
    ],
    width: 900
  })))
  const fo = histogram(failover, 100, 2000)
  charts.push(writeChart('writer-set-failover.svg', barChart({
    title: `Leader SIGKILL → a write accepted again (${trials} trials)`,
    xLabel: 'ms (bins of 100 ms)',
    yLabel: 'trials',
    groups: fo.labels,
    series: [{ name: 'trials', values: fo.counts }],
    width: 900
  })))
  md.push('')
  md.push('Charts: [commit latency histogram](results/writer-set-latency.svg), [failover histogram](results/writer-set-failover.svg).')
  finish('writer-set', {
    title: 'Writer set',
    command: `node bench/writer-set.js ${commits} ${trials}`,
    markdown: md.join('\n'),
    charts,
    goals: [
      goal('commit latency on the leader, p50 ms (3 full nodes, loopback)', Number(f1(pct(direct, 50))), '≤ 5', (x) => x <= 5),
      goal(`failover (leader SIGKILL → write accepted), p99 ms over ${trials} trials`, Number(f1(pct(failover, 99))), '≤ 1000', (x) => x <= 1000)
    ],
    figures: { leader: { p50: pct(direct, 50), p99: pct(direct, 99) }, follower: { p50: pct(follower, 50), p99: pct(follower, 99) }, observer: { p50: pct(viaObserver, 50), p99: pct(viaObserver, 99) }, failover: { p50: pct(failover, 50), p99: pct(failover, 99) } }
  })
} finally {
  await l.close()
}
