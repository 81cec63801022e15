#!/usr/bin/env node
// Admin app: the memory the admin server adds to an idle node, and how fast its pages load.
//   npm run build && node bench/admin.js [members=5] [rounds=3] [requests=100]
// RSS: pairs of single-node platforms started side by side, one with `--admin none`, one serving
// the app, sampled after they settle (idle: the figure), then again after the app served 20
// pages; the figures are the medians of the differences. Pages: a platform of `members` nodes (the first three
// full, the others observers) on the demo release's schema; `requests` sequential GETs of the
// overview and of the settings page (every machine's overrides, the history) on loopback, with an
// API token, timed from the request to the last byte.
import { control, header, lab, pct, sample, sleep } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const members = Number(process.argv[2] ?? 5)
const rounds = Number(process.argv[3] ?? 3)
const requests = Number(process.argv[4] ?? 100)
const COMMAND = `node bench/admin.js ${members} ${rounds} ${requests}`
const BASE = ['--listen', '127.0.0.1:0', '--dns', 'none']
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]

let current
onInterrupt(async () => current?.close())

async function timedGets(url, token, n) {
  const times = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } })
    await res.text()
    if (res.status !== 200) throw new Error(`${url}: ${res.status}`)
    times.push(performance.now() - t0)
  }
  return times
}

async function tokenOf(node, role = 'viewer') {
  return (await control(node, 'admin.tokens.create', { role })).token
}

// --- RSS with and without the admin server ---
const rss = []
for (let r = 0; r < rounds; r++) {
  const l = lab('pnbench-admin-')
  current = l
  try {
    const without = l.start('without', ['init-platform', '--domain', 'pryv.test', '--name', 'n1', ...BASE, '--admin', 'none'])
    const withAdmin = l.start('with', ['init-platform', '--domain', 'pryv.test', '--name', 'n1', ...BASE, '--admin', '127.0.0.1:0'])
    const [, ready] = await Promise.all([without.ready, withAdmin.ready])
    await sleep(8000)
    const a = sample(without.proc.pid).rssMb
    const b = sample(withAdmin.proc.pid).rssMb
    // Then after the app served pages (its code loaded, its garbage not necessarily collected).
    const token = await tokenOf(withAdmin)
    await timedGets(`${ready.admin}/`, token, 10)
    await timedGets(`${ready.admin}/settings`, token, 10)
    await sleep(3000)
    const used = sample(withAdmin.proc.pid).rssMb
    rss.push({ without: a, with: b, delta: b - a, afterPages: used, deltaAfterPages: used - sample(without.proc.pid).rssMb })
    process.stderr.write(`[admin] round ${r + 1}: RSS ${a.toFixed(1)} MB without, ${b.toFixed(1)} MB with the admin app idle, ${used.toFixed(1)} MB after 20 page loads\n`)
  } finally {
    await l.close()
    current = undefined
  }
}

// --- Page loads on a platform of `members` nodes ---
const l = lab('pnbench-admin-')
current = l
let overview
let settings
try {
  const first = l.start('n1', ['init-platform', '--domain', 'pryv.test', '--name', 'n1', ...BASE, '--admin', '127.0.0.1:0'])
  const ready = await first.ready
  for (let i = 2; i <= members; i++) {
    const { invite } = await control(first, 'invite.create', { role: i <= 3 ? 'full' : 'observer' })
    await l.start(`n${i}`, ['join-platform', invite, '--name', `n${i}`, ...BASE, '--admin', 'none']).ready
  }
  for (const deadline = Date.now() + 30_000; Date.now() < deadline;) {
    if ((await control(first, 'status')).members.filter((m) => m.alive).length === members) break
    await sleep(250)
  }
  const token = await tokenOf(first)
  await timedGets(`${ready.admin}/`, token, 5)
  overview = await timedGets(`${ready.admin}/`, token, requests)
  settings = await timedGets(`${ready.admin}/settings`, token, requests)
} finally {
  await l.close()
  current = undefined
}

const deltas = rss.map((x) => x.delta)
const md = [header('admin app: memory and page loads', COMMAND)]
md.push('| figure | value |')
md.push('|---|---:|')
md.push(`| idle node RSS without the admin server (\`--admin none\`), median of ${rounds} | ${median(rss.map((x) => x.without)).toFixed(1)} MB |`)
md.push(`| idle node RSS serving the admin app, median of ${rounds} | ${median(rss.map((x) => x.with)).toFixed(1)} MB |`)
md.push(`| difference, idle, median (min–max) | ${median(deltas).toFixed(1)} MB (${Math.min(...deltas).toFixed(1)}–${Math.max(...deltas).toFixed(1)}) |`)
const used = rss.map((x) => x.deltaAfterPages)
md.push(`| difference after 20 page loads, median (min–max) | ${median(used).toFixed(1)} MB (${Math.min(...used).toFixed(1)}–${Math.max(...used).toFixed(1)}) |`)
md.push(`| overview page, ${members} members: p50 / p95 | ${pct(overview, 50).toFixed(1)} / ${pct(overview, 95).toFixed(1)} ms |`)
md.push(`| settings page, ${members} members, demo schema: p50 / p95 | ${pct(settings, 50).toFixed(1)} / ${pct(settings, 95).toFixed(1)} ms |`)
const goals = [
  goal('RSS added by the admin server to an idle node', median(deltas), '≤ 10 MB', (x) => x <= 10),
  goal(`overview page p95 (${members} members)`, pct(overview, 95), '≤ 300 ms (issue: 20 members)', (x) => x <= 300),
  goal(`settings page p95 (${members} members, demo schema)`, pct(settings, 95), '≤ 300 ms (issue: 20 members, Pryv.io schema)', (x) => x <= 300)
]
finish('admin', { title: 'admin app', command: COMMAND, markdown: md.join('\n'), goals, figures: { rss, overview: { p50: pct(overview, 50), p95: pct(overview, 95) }, settings: { p50: pct(settings, 50), p95: pct(settings, 95) } } })
