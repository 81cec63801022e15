#!/usr/bin/env node
// Admin app: the memory the admin server adds to an idle node, how fast its pages load, and how fast
// a settings change made through it converges, next to the same change from the CLI.
//   npm run build && node bench/admin.js [members=20] [rounds=3] [requests=100] [changes=10]
// Every node runs the Pryv.io release (releases/pryv-io: 77 settings keys), services not run.
// RSS: pairs of single-node platforms started side by side, one with `--admin none`, one serving
// the app, sampled after they settle (idle: the figure), then again after the app served 20
// pages; the figures are the medians of the differences.
// Pages: a platform of `members` nodes: three full node processes (the first serves the app), the
// others observers held in-process a few per host process (bench/lib/observer-host.js, as
// bench/fanout.js does); `requests` sequential GETs of the overview and of the settings page (every
// machine's overrides, the history) on loopback, with an API token, timed to the last byte, each
// next to the same server's /healthz (the reference, interleaved).
// Changes: `changes` settings changes (platform.licenseName) alternately through the app's API
// (POST /api/v1/ops/settings.change) and from the CLI (`pryv-node config set`, a process started
// for each, as an operator would), each timed from the request until every node applied it.
import { fork, spawn } from 'node:child_process'
import { loadavg } from 'node:os'
import { resolve } from 'node:path'
import { control, header, lab, pct, sample, sleep } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const members = Number(process.argv[2] ?? 20)
const rounds = Number(process.argv[3] ?? 3)
const requests = Number(process.argv[4] ?? 100)
const changes = Number(process.argv[5] ?? 10)
const COMMAND = `node bench/admin.js ${members} ${rounds} ${requests} ${changes}`
const BIN = resolve(import.meta.dirname, '../bin/pryv-node.js')
const RELEASE = resolve(import.meta.dirname, '../releases/pryv-io')
const BASE = ['--listen', '127.0.0.1:0', '--dns', 'none', '--services', 'none']
const OBSERVERS_PER_HOST = 8
const ms = (x, digits = 1) => (x === undefined ? '–' : x.toFixed(digits))
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]
const load = () => loadavg().map((x) => x.toFixed(1)).join(' / ')

let current
onInterrupt(async () => current?.())

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

async function tokenOf(node, role) {
  return (await control(node, 'admin.tokens.create', { role })).token
}

/** One request to an observer host process, answered by its next message. */
function ask(host, msg) {
  return new Promise((res, rej) => {
    const gone = () => rej(new Error('an observer host exited'))
    host.once('exit', gone)
    host.once('message', (m) => {
      host.off('exit', gone)
      res(m)
    })
    host.send(msg)
  })
}

/** Runs the CLI as an operator would; resolves with its parsed --json output. */
function cli(dir, args) {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, [BIN, '--data-dir', dir, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => { out += d })
    p.stderr.on('data', (d) => { err += d })
    p.on('exit', (code) => (code === 0 ? res(JSON.parse(out)) : rej(new Error(`pryv-node ${args.join(' ')}: exit ${code}: ${err}${out}`.trim()))))
  })
}

// --- RSS with and without the admin server ---
const rss = []
for (let r = 0; r < rounds; r++) {
  const l = lab('pnbench-admin-')
  current = () => l.close()
  try {
    const without = l.start('without', ['init-platform', '--domain', 'pryv.test', '--name', 'n1', '--release', RELEASE, ...BASE, '--admin', 'none'])
    const withAdmin = l.start('with', ['init-platform', '--domain', 'pryv.test', '--name', 'n1', '--release', RELEASE, ...BASE, '--admin', '127.0.0.1:0'])
    const [, ready] = await Promise.all([without.ready, withAdmin.ready])
    await sleep(8000)
    const a = sample(without.proc.pid).rssMb
    const b = sample(withAdmin.proc.pid).rssMb
    // Then after the app served pages (its code loaded, its garbage not necessarily collected).
    const token = await tokenOf(withAdmin, 'viewer')
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

// --- A platform of `members` nodes: page loads, then settings changes through the app and the CLI ---
const l = lab('pnbench-admin-')
const hosts = []
const stopAll = async () => {
  await Promise.all(hosts.map((h) => new Promise((r) => {
    if (h.exitCode !== null) return r()
    const kill = setTimeout(() => h.kill('SIGKILL'), 10_000)
    h.once('exit', () => { clearTimeout(kill); r() })
    h.send({ stop: true })
  })))
  await l.close()
}
current = stopAll
let overview = []
let settings = []
let healthz = []
let observers = 0
let nodesUp = 0
const viaApp = []
const viaCli = []
const failed = []
const loadAtStart = load()
try {
  const full = [l.start('c1', ['init-platform', '--domain', 'pryv.test', '--name', 'c1', '--release', RELEASE, ...BASE, '--admin', '127.0.0.1:0'])]
  const ready = await full[0].ready
  for (const name of ['c2', 'c3'].slice(0, Math.max(0, members - 1))) {
    const n = l.start(name, ['join-platform', (await control(full[0], 'invite.create', { role: 'full' })).invite, '--name', name, ...BASE, '--admin', 'none'])
    await n.ready
    full.push(n)
  }
  const { invite } = await control(full[0], 'invite.create', { role: 'observer', uses: 1000 })
  for (let first = 0; first < members - full.length; first += OBSERVERS_PER_HOST) {
    const host = fork(resolve(import.meta.dirname, 'lib/observer-host.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    hosts.push(host)
    await new Promise((r) => host.once('message', r))
    const names = Array.from({ length: Math.min(OBSERVERS_PER_HOST, members - full.length - first) }, (_, k) => `o${first + k + 1}`)
    const reply = await ask(host, { join: { invite, names, root: l.root } })
    // A join that times out on the loaded machine is reported; the platform is measured with those that joined.
    if (reply.failed.length > 0) failed.push(`joins failed: ${reply.failed.join('; ')}`)
    observers += reply.joined
    process.stderr.write(`[admin] ${full.length + observers} of ${members} nodes up\n`)
  }
  nodesUp = full.length + observers
  for (const deadline = Date.now() + 60_000; ;) {
    const alive = (await control(full[0], 'status')).members.filter((m) => m.alive).length
    if (alive === nodesUp) break
    if (Date.now() > deadline) throw new Error(`only ${alive} of ${nodesUp} members alive`)
    await sleep(250)
  }
  const viewer = await tokenOf(full[0], 'viewer')
  await timedGets(`${ready.admin}/`, viewer, 5)
  await timedGets(`${ready.admin}/settings`, viewer, 5)
  // Interleaved with the reference: the same server's /healthz (HTTP, no page), at the same moments.
  overview = []
  settings = []
  healthz = []
  for (let i = 0; i < requests; i++) {
    healthz.push(...await timedGets(`${ready.admin}/healthz`, viewer, 1))
    overview.push(...await timedGets(`${ready.admin}/`, viewer, 1))
    settings.push(...await timedGets(`${ready.admin}/settings`, viewer, 1))
  }

  /** Until every full node and every observer applied `revision`. */
  const everywhere = async (revision) => {
    const full3 = full.map(async (n) => {
      while ((await control(n, 'status')).revision < revision) await sleep(20)
    })
    await Promise.all([...full3, ...hosts.map((h) => ask(h, { waitFor: revision }))])
  }
  const operator = await tokenOf(full[0], 'operator')
  // One change first, not timed: every node has caught up with the joins before the timed ones.
  // (A change plans every member's files before it commits: with 20 members it may take longer than the control's 15 s default here.)
  await everywhere((await control(full[0], 'settings.change', { set: { 'platform.licenseName': 'bench warm-up' }, input: 'text' }, 120_000)).revision)
  /** One change through the app's API (even `i`) or from the CLI (odd); resolves with its revision. */
  const change = async (i) => {
    const value = `bench ${i}`
    if (i % 2 === 1) return (await cli(full[0].dir, ['config', 'set', `platform.licenseName=${value}`, '-m', 'bench: from the CLI'])).revision
    const res = await fetch(`${ready.admin}/api/v1/ops/settings.change`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
      body: JSON.stringify({ set: { 'platform.licenseName': value }, input: 'text', message: 'bench: through the app' })
    })
    const body = await res.json()
    if (res.status !== 200) throw new Error(`settings.change: ${res.status} ${JSON.stringify(body)}`)
    return body.result.revision
  }
  for (let i = 0; i < changes; i++) {
    const t0 = performance.now()
    try {
      await everywhere(await change(i))
      ;(i % 2 === 0 ? viaApp : viaCli).push(performance.now() - t0)
    } catch (err) {
      // A change refused or timed out (the machine is shared): reported, the others still measured.
      failed.push(`${i % 2 === 0 ? 'app' : 'CLI'}: ${err.message}`)
      process.stderr.write(`[admin] change ${i} failed: ${err.message}\n`)
    }
    await sleep(200)
  }
} catch (err) {
  // Whatever was measured before is still reported.
  failed.push(`platform part stopped: ${err.message}`)
  process.stderr.write(`[admin] ${err.stack}\n`)
} finally {
  await stopAll()
  current = undefined
}

const deltas = rss.map((x) => x.delta)
const md = [header('admin app: memory, page loads and settings changes', COMMAND)]
md.push(`load average ${loadAtStart} at the start of the platform part, ${load()} at the end; ${nodesUp} of ${members} members up: 3 full node processes + ${observers} in-process observers (${hosts.length} host processes); release pryv-io (77 keys), services not run`)
md.push('')
md.push('| figure | value |')
md.push('|---|---:|')
md.push(`| idle node RSS without the admin server (\`--admin none\`), median of ${rounds} | ${median(rss.map((x) => x.without)).toFixed(1)} MB |`)
md.push(`| idle node RSS serving the admin app, median of ${rounds} | ${median(rss.map((x) => x.with)).toFixed(1)} MB |`)
md.push(`| difference, idle, median (min–max) | ${median(deltas).toFixed(1)} MB (${Math.min(...deltas).toFixed(1)}–${Math.max(...deltas).toFixed(1)}) |`)
const used = rss.map((x) => x.deltaAfterPages)
md.push(`| difference after 20 page loads, median (min–max) | ${median(used).toFixed(1)} MB (${Math.min(...used).toFixed(1)}–${Math.max(...used).toFixed(1)}) |`)
md.push(`| reference: \`/healthz\` of the same server, interleaved: p50 / p95 | ${ms(pct(healthz, 50))} / ${ms(pct(healthz, 95))} ms |`)
md.push(`| overview page, ${nodesUp} members: p50 / p95 | ${ms(pct(overview, 50))} / ${ms(pct(overview, 95))} ms |`)
md.push(`| settings page, ${nodesUp} members, Pryv.io schema: p50 / p95 | ${ms(pct(settings, 50))} / ${ms(pct(settings, 95))} ms |`)
md.push(`| settings change → applied on all ${nodesUp} nodes, through the app's API: p50 / max of ${viaApp.length} | ${ms(pct(viaApp, 50), 0)} / ${ms(viaApp.length ? Math.max(...viaApp) : undefined, 0)} ms |`)
md.push(`| the same from the CLI (\`pryv-node config set\`, a process each, same run): p50 / max of ${viaCli.length} | ${ms(pct(viaCli, 50), 0)} / ${ms(viaCli.length ? Math.max(...viaCli) : undefined, 0)} ms |`)
const goals = [
  goal('RSS added by the admin server to an idle node (MB)', median(deltas), '≤ 10 MB', (x) => x <= 10),
  goal(`overview page p95 (${nodesUp} members), ms`, pct(overview, 95), '≤ 300 ms (issue: 20 members)', (x) => x <= 300),
  goal(`settings page p95 (${nodesUp} members, Pryv.io schema), ms`, pct(settings, 95), '≤ 300 ms (issue: 20 members, Pryv.io schema)', (x) => x <= 300),
  goal(`settings change converged everywhere through the app, p50 ms (CLI in the same run: ${ms(pct(viaCli, 50), 0)})`, pct(viaApp, 50), 'as fast as from the CLI', (x) => viaCli.length > 0 && x <= pct(viaCli, 50))
]
if (failed.length > 0) md.push(`\n${failed.length} change(s) failed and are not in the figures: ${failed.join('; ')}`)
finish('admin', { title: 'admin app', command: COMMAND, markdown: md.join('\n'), goals, notes: failed, figures: { rss, healthz: { p50: pct(healthz, 50), p95: pct(healthz, 95) }, overview: { p50: pct(overview, 50), p95: pct(overview, 95) }, settings: { p50: pct(settings, 50), p95: pct(settings, 95) }, changes: { viaApp, viaCli } } })
