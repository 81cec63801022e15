#!/usr/bin/env node
// Settings benchmark: real node processes on loopback, demo services run as processes.
//   npm run build && node bench/settings.js [nodes=5] [changes=30]
// Each change sets platform.name through the founder's control socket (the writer) and measures
//   committed: the proposal's reply (validated on the writer, appended, applied there);
//   everywhere: until every node reports (status.settings) that it rendered the change's revision and
//   restarted the one consuming service (demo-web) through the process runtime.
// Status is polled every 5 ms over each node's control socket, so figures include up to ~5 ms of polling.
import { control as call, header, lab, pct, sleep } from './lib/nodes.js'
import { finish, onInterrupt } from './lib/report.js'

const count = Number(process.argv[2] ?? 5)
const changes = Number(process.argv[3] ?? 30)
const NODE_ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none', '--services', 'process']
const l = lab()
onInterrupt(() => l.close())
const control = (dir, method, params = {}) => call({ dir }, method, params)

async function renderedEverywhere(nodes, revision) {
  for (;;) {
    const all = await Promise.all(nodes.map((n) => control(n.dir, 'status')))
    if (all.every((s) => (s.settings?.settingsRevision ?? 0) >= revision)) return all.map((s) => s.settings)
    await sleep(5)
  }
}

try {
  const nodes = [l.start('n0', ['init-platform', '--domain', 'pryv.test', '--name', 'n0', ...NODE_ARGS])]
  await nodes[0].ready
  for (let i = 1; i < count; i++) {
    const { invite } = await control(nodes[0].dir, 'invite.create')
    const n = l.start(`n${i}`, ['join-platform', invite, '--name', `n${i}`, ...NODE_ARGS])
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
  const md = [header('settings change → rendered and restarted on every node', `node bench/settings.js ${count} ${changes}`)]
  md.push('| figure | p50 | p99 | max |')
  md.push('|---|---|---|---|')
  md.push(`| change → committed on the writer, ms (${changes} changes) | ${f(pct(committedMs, 50))} | ${f(pct(committedMs, 99))} | ${f(Math.max(...committedMs))} |`)
  md.push(`| change → rendered + demo-web restarted on all ${count} nodes, ms | ${f(pct(everywhereMs, 50))} | ${f(pct(everywhereMs, 99))} | ${f(Math.max(...everywhereMs))} |`)
  md.push('')
  md.push(`only the consuming service (demo-web) restarted, on every node, every time: ${restartedOnly ? 'yes' : 'NO'}`)
  finish('settings', {
    title: 'Settings change → rendered and restarted everywhere',
    command: `node bench/settings.js ${count} ${changes}`,
    markdown: md.join('\n'),
    goals: [{ figure: 'settings change: only the consuming service restarted, on every node, every time', measured: restartedOnly ? 'yes' : 'no', goal: 'yes', met: restartedOnly }],
    figures: { committedMs, everywhereMs, restartedOnly }
  })
} finally {
  await l.close()
}
