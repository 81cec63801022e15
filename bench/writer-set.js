#!/usr/bin/env node
// Writer-set benchmark on loopback, real node processes:
//   npm run build && node bench/writer-set.js [commits=300] [failoverTrials=20]
// - commit latency: one client, sequential writes through a full node's API (its control socket),
//   then through an observer (one more hop); where a write's time goes on the leader, stage by stage
//   (status().writerSet.commitStages), next to a control-socket round trip that writes nothing;
// - 16 concurrent clients writing through the leader: throughput and latency (group commit);
// - failover: SIGKILL the leader, time until a write through a surviving full node succeeds; the
//   killed node is restarted on the same port and the set healed before the next trial.
import { barChart, histogram } from './lib/chart.js'
import { control, header, lab, pct, sleep, untilHealthy } from './lib/nodes.js'
import { finish, goal, onInterrupt, writeChart } from './lib/report.js'

const commits = Number(process.argv[2] ?? 300)
const trials = Number(process.argv[3] ?? 20)
const NODE_ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none']
const l = lab('pnbench-ws-')
onInterrupt(() => l.close())
const f1 = (x) => x.toFixed(1)
const f2 = (x) => x.toFixed(2)
const CLIENTS = 16

/** `clients` clients, each writing `each` times in sequence through `node`: latencies and writes per second. */
async function concurrentWrites(node, clients, each) {
  const latencies = []
  const t0 = performance.now()
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; i < each; i++) {
      const t = performance.now()
      await control(node, 'dns.users.set', { users: { [`c${c}-${i % 50}`]: 'c1' } })
      latencies.push(performance.now() - t)
    }
  }))
  return { latencies, writesPerS: latencies.length / ((performance.now() - t0) / 1000) }
}

const STAGE_NAMES = {
  check: 'command checks on the leader (parse, veto, state check)',
  queue: 'proposed → the leader starts its log write',
  persist: 'the leader\'s log write (LevelDB batch, fsync)',
  replicate: 'leader\'s write done → committed (a follower\'s append round trip; it overlaps the leader\'s write)',
  apply: 'committed → applied on the leader (sign the revision, state write)',
  total: 'the write inside the node (request → applied here)'
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
  let statuses = await untilHealthy(full)
  // The port each full node got at its first start (its ready event), for its restarts.
  const ports = new Map()
  for (const n of full) {
    const self = (await control(n, 'status')).members.find((m) => m.self)
    ports.set(n.name, /\/tcp\/(\d+)/.exec(self.addresses[0])[1])
  }

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
  const leader = leaderOf(statuses)
  const direct = await latency(leader)
  // Read now: the stages of the writes made on the leader, before other phases' writes go through it.
  const stages = (await control(leader, 'status')).writerSet.commitStages
  const followerStages = await Promise.all(full.filter((n) => n !== leader).map(async (n) => (await control(n, 'status')).writerSet.commitStages.followerPersist))
  const socketRtt = []
  for (let i = 0; i < 100; i++) {
    const t = performance.now()
    await control(leader, 'dns.users.get', { usernames: ['u1'] })
    socketRtt.push(performance.now() - t)
  }
  const follower = await latency(full.find((n) => n !== leader))
  const viaObserver = await latency(full.observer)
  const concurrent = await concurrentWrites(leader, CLIENTS, Math.ceil(commits / CLIENTS))

  const failover = []
  for (let t = 0; t < trials; t++) {
    statuses = await untilHealthy(full)
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
    // Back on the port it had, as a platform's node (and the etcd reference's member) comes back: on
    // a new port, the survivors would dial its old address until they learn the new one.
    const port = ports.get(full[i].name)
    full[i] = l.start(full[i].name, ['start', '--listen', `127.0.0.1:${port}`, '--dns', 'none'])
    await full[i].ready
  }

  const md = [header('writer set', `node bench/writer-set.js ${commits} ${trials}`)]
  md.push('| figure | p50 ms | p99 ms | goal |')
  md.push('|---|---|---|---|')
  md.push(`| commit latency, write on the leader (${commits} sequential) | ${f1(pct(direct, 50))} | ${f1(pct(direct, 99))} | p50 ≤ 5 |`)
  md.push(`| commit latency, write on a follower (forwarded to the leader) | ${f1(pct(follower, 50))} | ${f1(pct(follower, 99))} | |`)
  md.push(`| commit latency, write on an observer (nearest full node, then the leader) | ${f1(pct(viaObserver, 50))} | ${f1(pct(viaObserver, 99))} | one extra round trip |`)
  md.push(`| commit latency, ${CLIENTS} concurrent writers on the leader (${concurrent.latencies.length} writes): ${Math.round(concurrent.writesPerS)} writes/s | ${f1(pct(concurrent.latencies, 50))} | ${f1(pct(concurrent.latencies, 99))} | |`)
  md.push(`| leader SIGKILL → a write accepted again (${trials} trials) | ${f1(pct(failover, 50))} | ${f1(pct(failover, 99))} | p99 ≤ 1000 |`)
  md.push('')
  md.push(`Where a write on the leader spends its time (the ${commits} sequential writes; status().writerSet.commitStages, ms):`)
  md.push('')
  md.push('| stage | p50 ms | p99 ms |')
  md.push('|---|---|---|')
  for (const [stage, name] of Object.entries(STAGE_NAMES)) {
    if (stages[stage]) md.push(`| ${name} | ${f2(stages[stage].p50)} | ${f2(stages[stage].p99)} |`)
  }
  for (const [i, fp] of followerStages.entries()) if (fp) md.push(`| follower ${i + 1}: its log write before acknowledging (fsync) | ${f2(fp.p50)} | ${f2(fp.p99)} |`)
  md.push(`| client → the node's control socket and back, a read (reference: no write) | ${f2(pct(socketRtt, 50))} | ${f2(pct(socketRtt, 99))} |`)
  md.push(`| client-observed write (the first row) | ${f2(pct(direct, 50))} | ${f2(pct(direct, 99))} |`)
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
    figures: { stages, concurrent: { clients: CLIENTS, writesPerS: concurrent.writesPerS, p50: pct(concurrent.latencies, 50), p99: pct(concurrent.latencies, 99) }, leader: { p50: pct(direct, 50), p99: pct(direct, 99) }, follower: { p50: pct(follower, 50), p99: pct(follower, 99) }, observer: { p50: pct(viaObserver, 50), p99: pct(viaObserver, 99) }, failover: { p50: pct(failover, 50), p99: pct(failover, 99) } }
  })
} finally {
  await l.close()
}
