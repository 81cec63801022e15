#!/usr/bin/env node
// DNS load spread through real resolvers (issue 7): a platform of pryv-node processes, each on its own
// netlab host with DNS on port 53, and Debian's Unbound in front of it, as the Internet would use it.
//   npm run build && node bench/dns/spread.js
// Needs root (netlab hosts, port 53, iptables counters), unbound (installed with apt-get when missing)
// and dnsperf. Without netlab, the nodes run on loopback addresses 127.0.0.10x instead (said in the
// results; no silent host failure then: a killed process is answered by ICMP).
//
// Parts, in order (env: defaults):
//   load       per-node received queries per 1 s window (each node's own dns.counters), for a mix of user
//              names (cache misses), service names and apex, sent by dnsperf through the resolver(s), in
//              four configurations: NS = stub-addr of every node with the default TTL (300 s), the same
//              with dns.ttl = 5, NS set of 2 (dns.nameServers, resolver primed from the zone), and 3
//              resolvers.              SPREAD_LOAD_SECONDS (15), SPREAD_RATE (1500 q/s), SPREAD_USERS (30000)
//   direct     answers for a weighted name asked of the nodes directly, against the weights (dns.weight
//              per machine).           SPREAD_DIRECT (50000 questions), SPREAD_WEIGHTS (1,1,2,3,5)
//   resolvers  the same through 4 Unbound instances over many short TTL windows (Unbound's cache-max-ttl
//              caps the TTL at 1 s: the zone's weighted TTL is fixed at 30 s).  SPREAD_VIA_SECONDS (60)
//   failure    the heaviest node vanishes (netlab cut + SIGKILL) during load; time until its share of
//              answers is 0 (direct, through resolvers) and until the resolvers stop sending it
//              questions; then it comes back.   SPREAD_FAIL_DOWN_SECONDS (40), SPREAD_FAIL_UP_SECONDS (35)
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { barChart, lineChart } from '../lib/chart.js'
import { askAtRate, askMany, dnsClient } from '../lib/dns-client.js'
import { hostIp, LAB_SUBNET, labDown, labUp, netlab, netlabUnavailable, runIn, spawnIn } from '../lib/netlab.js'
import { control, header, lab, sleep } from '../lib/nodes.js'
import { finish, goal, onInterrupt, writeChart } from '../lib/report.js'
import { ensureUnbound, startUnbound, stopUnbound, unboundVersion } from '../lib/unbound.js'

const env = (k, d) => Number(process.env[k] ?? d)
const LOAD_S = env('SPREAD_LOAD_SECONDS', 15)
const RATE = env('SPREAD_RATE', 1500)
const USERS = env('SPREAD_USERS', 30000)
const DIRECT = env('SPREAD_DIRECT', 50000)
const VIA_S = env('SPREAD_VIA_SECONDS', 60)
const FAIL_DOWN_S = env('SPREAD_FAIL_DOWN_SECONDS', 40)
const FAIL_UP_S = env('SPREAD_FAIL_UP_SECONDS', 35)
const WEIGHTS = (process.env.SPREAD_WEIGHTS ?? '1,1,2,3,5').split(',').map(Number)
const N = WEIGHTS.length
const RESOLVERS = 6
const DOMAIN = 'pryv.test'
const BIN = resolve(import.meta.dirname, '../../bin/pryv-node.js')
const COMMAND = 'node bench/dns/spread.js'

// --- where the hosts live: netlab hosts h1..hN (nodes), hN+1.. (resolvers); or loopback addresses ---
const labProblem = process.env.SPREAD_LOOPBACK ? 'SPREAD_LOOPBACK set' : netlabUnavailable()
const useLab = labProblem === null
const ip = (i) => (useLab ? hostIp(i) : `127.0.0.${100 + i}`)
const nodeHost = (k) => k + 1
const resolverHost = (r) => N + 1 + r
const spawnOn = (i, cmd, args, options) => (useLab ? spawnIn(i, cmd, args, options) : spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], ...options }))
const runOn = (i, cmd, args) => (useLab ? runIn(i, cmd, args) : execFileSync(cmd, args, { encoding: 'utf8' }))

const l = lab('pnbench-spread-')
const resolvers = new Set()
const loadProcs = new Set()
const chains = new Set()
async function cleanup() {
  for (const p of loadProcs) p.kill('SIGKILL')
  await Promise.all([...resolvers].map(stopUnbound))
  if (!useLab) for (const c of chains) spawnSync('sh', ['-c', `iptables -w 5 -D OUTPUT -j ${c}; iptables -w 5 -F ${c}; iptables -w 5 -X ${c}`])
  await l.close()
  if (useLab) labDown()
}
onInterrupt(cleanup)

// --- the platform ---
const nodeArgs = (k) => ['--listen', `/ip4/${useLab ? '0.0.0.0' : ip(nodeHost(k))}/tcp/7400`, '--announce', `/ip4/${ip(nodeHost(k))}/tcp/7400`, '--dns', `${ip(nodeHost(k))}:53`]
const nodes = []
const cli = (...args) => execFileSync(process.execPath, [BIN, '--data-dir', nodes[0].dir, ...args], { encoding: 'utf8', env: { ...process.env, PRYV_LOG_LEVEL: 'warn' } })
const cliCommands = []
const cliLogged = (...args) => {
  cliCommands.push(`pryv-node ${args.map((a) => (/[\s"[{]/.test(a) ? `'${a}'` : a)).join(' ')}`)
  return cli(...args)
}
const sum = (o) => Object.values(o ?? {}).reduce((a, b) => a + b, 0)
const counters = () => Promise.all(nodes.map((n) => (n.proc.exitCode === null && n.proc.signalCode === null ? control(n, 'dns.counters', {}, 3000).catch(() => null) : null)))
const received = (c) => (c ? sum(c.queriesByType) : null)
/** How many members each running node sees alive (liveness: a heartbeat within 4 s). */
const aliveViews = async () => (await Promise.all(nodes.map((n) => (n.proc.exitCode === null && n.proc.signalCode === null ? control(n, 'status', {}, 3000).catch(() => null) : null)))).map((st) => st?.members.filter((m) => m.alive).length ?? null)
/** Waits (up to 30 s) until every node sees every member alive; how long it took. */
async function allAlive() {
  const t0 = performance.now()
  while (performance.now() - t0 < 30_000) {
    if ((await aliveViews()).every((a) => a === nodes.length)) return { waitedMs: performance.now() - t0, ok: true }
    await sleep(250)
  }
  return { waitedMs: performance.now() - t0, ok: false }
}

// --- resolver-side counters: packets each resolver sends to each node address (iptables, in its host) ---
function countFrom(r) {
  const chain = `PNB_R${r}`
  const h = resolverHost(r)
  if (chains.has(chain)) return
  runOn(h, 'iptables', ['-w', '5', '-N', chain])
  runOn(h, 'iptables', ['-w', '5', '-I', 'OUTPUT', '-j', chain])
  chains.add(chain)
  for (let k = 0; k < N; k++) {
    runOn(h, 'iptables', ['-w', '5', '-A', chain, '-s', ip(h), '-d', ip(nodeHost(k)), '-p', 'udp', '--dport', '53', '-j', 'RETURN'])
  }
}
function sentBy(r) {
  const out = runOn(resolverHost(r), 'iptables', ['-w', '5', '-L', `PNB_R${r}`, '-v', '-x', '-n'])
  const byIp = {}
  for (const line of out.split('\n').slice(2)) {
    const f = line.trim().split(/\s+/)
    if (f[2] === 'RETURN') byIp[f[8]] = Number(f[0])
  }
  return nodes.map((_, k) => byIp[ip(nodeHost(k))] ?? 0)
}
const sentByAll = (rs) => rs.map(sentBy).reduce((a, b) => a.map((x, k) => x + b[k]), new Array(N).fill(0))

async function resolversUp(count, opts) {
  const out = []
  for (let r = 0; r < count; r++) {
    const h = resolverHost(r)
    const u = await startUnbound({ host: h, ip: ip(h), allow: useLab ? `${LAB_SUBNET}.0/24` : '127.0.0.0/8', loopback: !useLab, spawnOn, dir: join(l.root, `unbound-${h}`), domain: DOMAIN, ...opts })
    resolvers.add(u)
    out.push(u)
  }
  return out
}
async function resolversDown(rs) {
  await Promise.all(rs.map(stopUnbound))
  for (const u of rs) resolvers.delete(u)
}

// --- the query mix (dnsperf input): users (Zipf popularity), service names, apex, nonexistent names ---
function zipfSampler(n, s, random) {
  const cdf = new Float64Array(n)
  let acc = 0
  for (let i = 0; i < n; i++) cdf[i] = acc += 1 / (i + 1) ** s
  return () => {
    const x = random() * acc
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid] < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}
function seeded(seed) {
  let s = seed
  return () => {
    s = (s * 16807) % 2147483647
    return s / 2147483647
  }
}
const userName = (i) => `u${String(i).padStart(5, '0')}`
const MIX = { users: 0.65, services: 0.2, apex: 0.1, nonexistent: 0.05 }
function queryFile(path, lines) {
  const rnd = seeded(7)
  // A fixed permutation, so that popularity is not in user-number order.
  const perm = Array.from({ length: USERS }, (_, i) => i)
  for (let i = USERS - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[perm[i], perm[j]] = [perm[j], perm[i]]
  }
  const zipf = zipfSampler(USERS, 0.9, rnd)
  const services = ['reg', 'reg', 'reg', 'reg', 'sw', 'sw', 'sw', 'access', 'mfa', 'mail']
  const apex = ['A', 'NS', 'MX', 'TXT', 'SOA', 'CAA', 'AAAA']
  const out = []
  for (let i = 0; i < lines; i++) {
    const x = rnd()
    if (x < MIX.users) out.push(`${userName(perm[zipf()])}.${DOMAIN} A`)
    else if (x < MIX.users + MIX.services) out.push(`${services[Math.floor(rnd() * services.length)]}.${DOMAIN} A`)
    else if (x < MIX.users + MIX.services + MIX.apex) out.push(`${DOMAIN} ${apex[Math.floor(rnd() * apex.length)]}`)
    else out.push(`nx${Math.floor(rnd() * 1e9)}.${DOMAIN} A`)
  }
  writeFileSync(path, `${out.join('\n')}\n`)
}

/** dnsperf at `rate` q/s through resolver `u` for `seconds`; resolves with its summary. */
function dnsperf(u, file, rate, seconds) {
  return new Promise((res) => {
    const p = spawn('dnsperf', ['-s', u.ip, '-p', '53', '-d', file, '-c', '8', '-Q', String(Math.round(rate)), '-l', String(seconds), '-t', '2'], { stdio: ['ignore', 'pipe', 'ignore'] })
    loadProcs.add(p)
    let out = ''
    p.stdout.on('data', (d) => {
      out += d
    })
    p.on('close', () => {
      loadProcs.delete(p)
      res({ completed: Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0), lost: Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0) })
    })
  })
}

// --- statistics ---
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length
const cv = (xs) => {
  const m = mean(xs)
  return m > 0 ? Math.sqrt(mean(xs.map((x) => (x - m) ** 2))) / m : Number.NaN
}
const maxMin = (xs) => (Math.min(...xs) > 0 ? Math.max(...xs) / Math.min(...xs) : Number.POSITIVE_INFINITY)
const median = (xs) => {
  const s = [...xs].filter((x) => !Number.isNaN(x)).sort((a, b) => a - b)
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.9 * xs.length) - 1)]
const f1 = (x) => (Number.isFinite(x) ? x.toFixed(1) : '∞')
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '∞')
const pctOf = (x, total) => (total > 0 ? (100 * x) / total : 0)

/** P(target i is in a subset of k drawn by successive weighted sampling without replacement). */
function inclusion(weights, k) {
  const n = weights.length
  const p = new Array(n).fill(0)
  const walk = (left, prob, taken) => {
    if (left === 0) return
    const total = weights.reduce((a, w, i) => a + (taken.has(i) ? 0 : w), 0)
    if (total === 0) return
    weights.forEach((w, i) => {
      if (taken.has(i) || w === 0) return
      const q = (prob * w) / total
      p[i] += q
      walk(left - 1, q, new Set([...taken, i]))
    })
  }
  walk(Math.min(k, weights.filter((w) => w > 0).length), 1, new Set())
  return p
}

// ======================================================================================================
const started = performance.now()
const since = () => (performance.now() - started) / 1000
const md = []
const charts = []
const goals = []
const cut = []
const notes = []
const log = (s) => process.stderr.write(`[spread ${since().toFixed(0)} s] ${s}\n`)

try {
  const missing = ensureUnbound()
  if (missing) throw new Error(`${missing}: the spread benchmark needs a real resolver`)
  if (spawnSync('dnsperf', ['-h']).error) throw new Error('dnsperf is missing (apt-get install -y dnsperf)')
  if (useLab) labUp(N + RESOLVERS)
  else log(`netlab unavailable (${labProblem}): nodes on loopback addresses 127.0.0.10x`)

  // Platform: every node full (weighted service names spread over full members), DNS on port 53.
  nodes.push(l.start('n1', ['init-platform', '--domain', DOMAIN, '--name', 'n1', ...nodeArgs(0)], { host: useLab ? 1 : undefined }))
  await nodes[0].ready
  for (let k = 1; k < N; k++) {
    const { invite } = await control(nodes[0], 'invite.create', { role: 'full' })
    const n = l.start(`n${k + 1}`, ['join-platform', invite, '--name', `n${k + 1}`, ...nodeArgs(k)], { host: useLab ? nodeHost(k) : undefined })
    await n.ready
    nodes.push(n)
  }
  log(`${N} nodes up`)
  const t0 = performance.now()
  for (const [k, w] of WEIGHTS.entries()) cliLogged('config', 'set', `dns.weight=${w}`, '--machine', `n${k + 1}`, '-m', 'bench weights')
  // This bench measures spread, not response rate limiting: the resolvers and the direct client ask
  // thousands of times a second from one prefix, which dns.rateLimit (200/s per prefix) would cut.
  cliLogged('config', 'set', 'dns.rateLimit=0', '-m', 'bench: no response rate limiting')
  const weightsMs = performance.now() - t0
  const t1 = performance.now()
  const CHUNK = 3000
  for (let first = 0; first < USERS; first += CHUNK) {
    const pairs = []
    for (let i = first; i < Math.min(USERS, first + CHUNK); i++) pairs.push(`${userName(i)}=n${1 + (i % N)}`)
    cli('dns', 'users', 'set', ...pairs)
  }
  cliCommands.push(`pryv-node dns users set u00000=n1 u00001=n2 … (${USERS} users, ${Math.ceil(USERS / CHUNK)} commands of ${CHUNK})`)
  const usersMs = performance.now() - t1
  // Every node answers for every user before measuring.
  const client = dnsClient({ timeoutMs: 1000 })
  for (let k = 0; k < N; k++) {
    for (;;) {
      const a = await client.ask(ip(nodeHost(k)), `${userName(USERS - 1)}.${DOMAIN}`)
      if (a.rcode === 0 && a.addresses?.length) break
      await sleep(100)
    }
  }
  const status = await control(nodes[0], 'status')
  const nameOf = new Map(status.members.map((m) => [m.peerId, m.name]))
  const ipToNode = new Map(nodes.map((_, k) => [ip(nodeHost(k)), k]))
  log(`weights set in ${(weightsMs / 1000).toFixed(1)} s, ${USERS} users in ${(usersMs / 1000).toFixed(1)} s`)
  const queries = join(l.root, 'queries.txt')
  queryFile(queries, 200_000)

  // ---------------------------------------------------------------- load per node
  const loadConfigs = [
    { id: 'A', label: `1 resolver, stub-addr = all ${N} nodes, TTL 300 s (default)`, resolvers: 1, stub: 'all' },
    { id: 'B', label: `1 resolver, stub-addr = all ${N} nodes, dns.ttl = 5`, resolvers: 1, stub: 'all', settings: [['config', 'set', 'dns.ttl=5']], undo: [['config', 'unset', 'dns.ttl']] },
    {
      id: 'C',
      label: '1 resolver primed from the zone, NS set = 2 nodes (dns.nameServers)',
      resolvers: 1,
      stub: 'prime',
      settings: [['config', 'set', `dns.nameServers=${JSON.stringify([{ name: `ns1.${DOMAIN}`, ip: ip(nodeHost(0)) }, { name: `ns2.${DOMAIN}`, ip: ip(nodeHost(1)) }])}`]],
      undo: [['config', 'unset', 'dns.nameServers']]
    },
    { id: 'D', label: `3 resolvers, stub-addr = all ${N} nodes, TTL 300 s`, resolvers: 3, stub: 'all' }
  ]
  const loadResults = []
  for (const cfg of loadConfigs) {
    for (const c of cfg.settings ?? []) cliLogged(...c, '-m', `bench config ${cfg.id}`)
    await sleep(500)
    await allAlive()
    const stub = cfg.stub === 'all' ? nodes.map((_, k) => ip(nodeHost(k))) : [ip(nodeHost(0))]
    const rs = await resolversUp(cfg.resolvers, { stub, prime: cfg.stub === 'prime' })
    for (const r of rs.keys()) countFrom(r)
    const windows = []
    let prev = await counters()
    let prevSent = sentByAll(rs.map((_, r) => r))
    const runs = Promise.all(rs.map((u) => dnsperf(u, queries, RATE / rs.length, LOAD_S)))
    let done = false
    void runs.then(() => {
      done = true
    })
    const tStart = performance.now()
    while (!done) {
      await sleep(1000 - ((performance.now() - tStart) % 1000))
      const [now, alive] = await Promise.all([counters(), aliveViews()])
      const sent = sentByAll(rs.map((_, r) => r))
      windows.push({ t: (performance.now() - tStart) / 1000, received: now.map((c, k) => received(c) - received(prev[k])), sent: sent.map((x, k) => x - prevSent[k]), aliveMin: Math.min(...alive.map((a) => a ?? 0)) })
      prev = now
      prevSent = sent
    }
    const perf = await runs
    // The last window is partial (dnsperf ended inside it).
    const full = windows.filter((w) => w.t <= LOAD_S + 0.05)
    await resolversDown(rs)
    for (const c of cfg.undo ?? []) cli(...c, '-m', `bench config ${cfg.id} undone`)
    const totals = nodes.map((_, k) => windows.reduce((a, w) => a + w.received[k], 0))
    const sentTotals = nodes.map((_, k) => windows.reduce((a, w) => a + w.sent[k], 0))
    const client = perf.reduce((a, p) => a + p.completed, 0)
    loadResults.push({
      cfg,
      windows,
      totals,
      sentTotals,
      client,
      lost: perf.reduce((a, p) => a + p.lost, 0),
      aliveMin: Math.min(...windows.map((w) => w.aliveMin)),
      windowsNotAllAlive: windows.filter((w) => w.aliveMin < N).length,
      notAllAliveAt: windows.filter((w) => w.aliveMin < N).map((w) => Math.round(w.t)),
      windowCv: median(full.map((w) => cv(w.received))),
      windowCvP90: p90(full.map((w) => cv(w.received))),
      windowMaxMin: median(full.map((w) => maxMin(w.received))),
      windowCvKernel: median(full.map((w) => cv(w.sent))),
      totalCv: cv(totals),
      totalMaxMin: maxMin(totals)
    })
    log(`load ${cfg.id}: ${totals.join(' / ')} queries received`)
  }

  // ---------------------------------------------------------------- answer spread, direct
  const expected = WEIGHTS.map((w) => w / WEIGHTS.reduce((a, b) => a + b, 0))
  const directCounts = new Array(N).fill(0)
  let directLost = 0
  const tDirect = performance.now()
  // Which members each node saw as alive around the test (a target seen down is left out of answers).
  const settle = await allAlive()
  if (settle.waitedMs > 0) notes.push(`before the direct test, waited ${(settle.waitedMs / 1000).toFixed(1)} s until every node saw every member alive`)
  const aliveBefore = await aliveViews()
  const directByServer = nodes.map(() => new Array(N).fill(0))
  await askMany(client, DIRECT, (i) => ({ server: ip(nodeHost(i % N)), name: `reg.${DOMAIN}` }), (a, i) => {
    const k = ipToNode.get(a.addresses?.[0])
    if (k === undefined) directLost++
    else {
      directCounts[k]++
      directByServer[i % N][k]++
    }
  })
  const directS = (performance.now() - tDirect) / 1000
  const aliveAfter = await aliveViews()
  const directTotal = directCounts.reduce((a, b) => a + b, 0)
  const directShare = directCounts.map((c) => pctOf(c, directTotal))
  const directDiff = directShare.map((s, k) => s - 100 * expected[k])
  const directZ = directCounts.map((c, k) => (c - directTotal * expected[k]) / Math.sqrt(directTotal * expected[k] * (1 - expected[k])))
  log(`direct: ${directShare.map(f2).join(' / ')} %`)

  // Subset size 2: share of answers that include each node, against successive weighted sampling.
  cliLogged('config', 'set', 'dns.subsetSize=2', '-m', 'bench subset 2')
  await sleep(500)
  const SUBSET_Q = Math.min(20000, DIRECT)
  const subsetCounts = new Array(N).fill(0)
  let subsetAnswers = 0
  await askMany(client, SUBSET_Q, (i) => ({ server: ip(nodeHost(i % N)), name: `reg.${DOMAIN}` }), (a) => {
    if (!a.addresses?.length) return
    subsetAnswers++
    for (const x of a.addresses) if (ipToNode.has(x)) subsetCounts[ipToNode.get(x)]++
  })
  cli('config', 'unset', 'dns.subsetSize', '-m', 'bench subset back to default')
  const subsetExpected = inclusion(WEIGHTS, 2)
  const subsetShare = subsetCounts.map((c) => pctOf(c, subsetAnswers))

  // ---------------------------------------------------------------- answer spread, through resolvers
  await sleep(500)
  await allAlive()
  const viaRs = await resolversUp(RESOLVERS, { stub: nodes.map((_, k) => ip(nodeHost(k))), maxTtl: 1 })
  const before = await counters()
  const viaCounts = new Array(N).fill(0)
  const viaTimeline = []
  const VIA_RATE = 40 * RESOLVERS
  await askAtRate(client, VIA_RATE, VIA_S * 1000, (i) => ({ server: viaRs[i % RESOLVERS].ip, name: `reg.${DOMAIN}` }), (a, at) => {
    const k = ipToNode.get(a.addresses?.[0])
    if (k === undefined) return
    viaCounts[k]++
    viaTimeline.push([at, k])
  })
  const after = await counters()
  await resolversDown(viaRs)
  // Draws the nodes made for the resolvers (each a fetch after the cached answer expired).
  const draws = new Array(N).fill(0)
  for (let k = 0; k < N; k++) {
    const a = after[k]?.weightedAnswers?.[`reg.${DOMAIN}`] ?? {}
    const b = before[k]?.weightedAnswers?.[`reg.${DOMAIN}`] ?? {}
    for (const [peer, n] of Object.entries(a)) {
      const target = Number(nameOf.get(peer)?.slice(1)) - 1
      if (target >= 0) draws[target] += n - (b[peer] ?? 0)
    }
  }
  const viaTotal = viaCounts.reduce((a, b) => a + b, 0)
  const viaShare = viaCounts.map((c) => pctOf(c, viaTotal))
  const drawsTotal = draws.reduce((a, b) => a + b, 0)
  const drawShare = draws.map((c) => pctOf(c, drawsTotal))
  log(`through resolvers: ${viaShare.map(f2).join(' / ')} % of ${viaTotal} answers, ${drawsTotal} draws`)

  // ---------------------------------------------------------------- failure of the heaviest node
  const victim = WEIGHTS.indexOf(Math.max(...WEIGHTS))
  const survivors = nodes.map((_, k) => k).filter((k) => k !== victim)
  await allAlive()
  const failRs = await resolversUp(3, { stub: nodes.map((_, k) => ip(nodeHost(k))) })
  for (const r of failRs.keys()) countFrom(r)
  const PRE_S = 10
  const total = PRE_S + FAIL_DOWN_S + FAIL_UP_S
  const timeline = []
  const answersDirect = []
  const answersVia = []
  let killedAt
  let backAt
  const tFail = performance.now()
  const tNow = () => (performance.now() - tFail) / 1000
  const fRuns = Promise.all(failRs.map((u) => dnsperf(u, queries, 600 / failRs.length, Math.ceil(total) + 5)))
  const direct = askAtRate(client, 100, total * 1000, (i) => ({ server: ip(nodeHost(survivors[i % survivors.length])), name: `reg.${DOMAIN}` }), (a, at) => {
    answersDirect.push([(at - tFail) / 1000, ipToNode.get(a.addresses?.[0])])
  })
  const via = askAtRate(client, 60, total * 1000, (i) => ({ server: failRs[i % failRs.length].ip, name: `reg.${DOMAIN}` }), (a, at) => {
    answersVia.push([(at - tFail) / 1000, ipToNode.get(a.addresses?.[0])])
  })
  const sampler = (async () => {
    let prevSent = sentByAll(failRs.map((_, r) => r))
    let prev = await counters()
    while (tNow() < total) {
      await sleep(1000 - ((tNow() * 1000) % 1000))
      const sent = sentByAll(failRs.map((_, r) => r))
      const now = await counters()
      timeline.push({ t: Math.round(tNow()), sent: sent.map((x, k) => x - prevSent[k]), received: now.map((c, k) => (c && prev[k] ? received(c) - received(prev[k]) : null)) })
      prevSent = sent
      prev = now
    }
  })()
  await sleep(PRE_S * 1000)
  if (useLab) netlab('cut', `h${nodeHost(victim)}`)
  nodes[victim].proc.kill('SIGKILL')
  killedAt = tNow()
  log(`n${victim + 1} ${useLab ? 'cut off and killed' : 'killed'} at ${killedAt.toFixed(1)} s`)
  await sleep(FAIL_DOWN_S * 1000)
  if (useLab) netlab('heal', `h${nodeHost(victim)}`)
  const tRestart = performance.now()
  nodes[victim] = l.start(nodes[victim].name, ['start', ...nodeArgs(victim)], { host: useLab ? nodeHost(victim) : undefined })
  await nodes[victim].ready
  const restartMs = performance.now() - tRestart
  backAt = tNow()
  log(`n${victim + 1} back at ${backAt.toFixed(1)} s (start took ${restartMs.toFixed(0)} ms)`)
  await Promise.all([direct, via, sampler])
  for (const p of loadProcs) p.kill('SIGTERM')
  await fRuns
  await resolversDown(failRs)

  // Failure figures.
  const lastWith = (answers, from, to) => answers.filter(([t, k]) => t >= from && t < to && k === victim).reduce((a, [t]) => Math.max(a, t), Number.NEGATIVE_INFINITY)
  const firstWith = (answers, from) => answers.filter(([t, k]) => t >= from && k === victim).reduce((a, [t]) => Math.min(a, t), Number.POSITIVE_INFINITY)
  // No answer naming it after the kill at all: its share was 0 from the first answer on.
  const afterKill = (t) => (Number.isFinite(t) ? Math.max(0, t - killedAt) : 0)
  const directZeroS = afterKill(lastWith(answersDirect, killedAt, backAt))
  const viaZeroS = afterKill(lastWith(answersVia, killedAt, backAt))
  const sentToVictim = timeline.map((w) => [w.t, w.sent[victim]])
  const downWindows = sentToVictim.filter(([t]) => t > killedAt && t <= backAt + 0.5)
  // Windows are [t − 1, t]: the resolvers stopped within the last one that still holds a question.
  const resolversStopS = afterKill(downWindows.filter(([, n]) => n > 0).reduce((a, [t]) => Math.max(a, t), Number.NEGATIVE_INFINITY))
  const sentAfterKill = downWindows.reduce((a, [, n]) => a + n, 0)
  const sentAfter10 = downWindows.filter(([t]) => t - 1 >= killedAt + 10).reduce((a, [, n]) => a + n, 0)
  const directBackS = firstWith(answersDirect, backAt) - backAt
  const viaBackS = firstWith(answersVia, backAt) - backAt
  const queriesBackS = (sentToVictim.find(([t, n]) => t - 1 >= backAt && n > 0)?.[0] ?? Number.POSITIVE_INFINITY) - backAt
  const upFor = total - backAt
  const orNot = (x) => (Number.isFinite(x) ? f1(x) : `not within the ${upFor.toFixed(0)} s it was observed`)
  const shareIn = (answers, a, b) => {
    const xs = answers.filter(([t]) => t >= a && t < b)
    return pctOf(xs.filter(([, k]) => k === victim).length, xs.filter(([, k]) => k !== undefined).length)
  }

  // ---------------------------------------------------------------- charts
  const nodeNames = nodes.map((_, k) => `n${k + 1}`)
  for (const r of loadResults) {
    charts.push(writeChart(`spread-load-${r.cfg.id}.svg`, lineChart({
      title: `Queries received per node per second — config ${r.cfg.id}`,
      xLabel: `seconds (${r.cfg.label})`,
      yLabel: 'queries / s (node counters)',
      series: nodeNames.map((name, k) => ({ name: `${name} (w ${WEIGHTS[k]})`, points: r.windows.filter((w) => w.t <= LOAD_S + 0.05).map((w) => [w.t, w.received[k]]) }))
    })))
  }
  charts.push(writeChart('spread-load-shares.svg', barChart({
    title: 'Share of resolver queries received by each node, per configuration',
    xLabel: 'configuration (see RESULTS.md)',
    yLabel: '% of the queries the nodes received',
    groups: loadResults.map((r) => `${r.cfg.id}: ${r.cfg.resolvers} resolver${r.cfg.resolvers > 1 ? 's' : ''}${r.cfg.id === 'B' ? ', TTL 5' : r.cfg.id === 'C' ? ', NS 2' : ''}`),
    series: nodeNames.map((name, k) => ({ name, values: loadResults.map((r) => pctOf(r.totals[k], r.totals.reduce((a, b) => a + b, 0))) })),
    ref: { y: 100 / N, label: `even (${(100 / N).toFixed(0)} %)` }
  })))
  charts.push(writeChart('spread-answers.svg', barChart({
    title: `Answers for reg.${DOMAIN} per target vs weights (${WEIGHTS.join(':')})`,
    xLabel: 'target node (weight)',
    yLabel: '% of answers',
    groups: nodeNames.map((n, k) => `${n} (w ${WEIGHTS[k]})`),
    series: [
      { name: `direct, ${directTotal} answers`, values: directShare },
      { name: `through ${RESOLVERS} resolvers, ${viaTotal} answers`, values: viaShare },
      { name: `draws served to the resolvers (${drawsTotal})`, values: drawShare }
    ],
    groupRefs: { values: expected.map((e) => 100 * e), label: 'weight share' },
    valueLabels: true
  })))
  const perSecond = (answers) => {
    const out = []
    for (let s = 0; s < Math.ceil(total); s++) {
      const xs = answers.filter(([t, k]) => t >= s && t < s + 1 && k !== undefined)
      if (xs.length) out.push([s + 0.5, pctOf(xs.filter(([, k]) => k === victim).length, xs.length)])
    }
    return out
  }
  const failMarkers = [{ x: killedAt, label: `n${victim + 1} ${useLab ? 'cut + killed' : 'killed'}` }, { x: backAt, label: `n${victim + 1} back` }]
  charts.push(writeChart('spread-failure.svg', lineChart({
    title: `Failure of n${victim + 1} (weight ${WEIGHTS[victim]}): its share of answers for reg.${DOMAIN}`,
    xLabel: 'seconds',
    yLabel: `% of answers naming n${victim + 1}`,
    series: [
      { name: 'asked directly (surviving nodes)', points: perSecond(answersDirect) },
      { name: 'through 3 resolvers (weighted TTL 30 s)', points: perSecond(answersVia) }
    ],
    refs: [{ y: 100 * expected[victim], label: `weight share ${(100 * expected[victim]).toFixed(1)} %` }],
    markers: failMarkers,
    yMin: 0,
    yMax: 100
  })))
  charts.push(writeChart('spread-failure-queries.svg', lineChart({
    title: `Failure of n${victim + 1}: questions per second the resolvers send each node`,
    xLabel: 'seconds',
    yLabel: 'questions / s (iptables, resolver side)',
    series: nodeNames.map((name, k) => ({ name, points: timeline.map((w) => [w.t, w.sent[k]]), ...(k === victim ? { color: '#000000' } : {}) })),
    markers: failMarkers
  })))

  // ---------------------------------------------------------------- tables
  md.push(header('DNS load spread through real resolvers', COMMAND))
  md.push(`Platform: ${N} pryv-node processes (all full members), ${useLab ? `each on its own netlab host (${ip(1)}…${ip(N)}, network namespaces), DNS on port 53` : `on loopback addresses ${ip(1)}…${ip(N)} (netlab unavailable: ${labProblem}), DNS on port 53`}; resolvers: Unbound ${unboundVersion()} (Debian), each on its own ${useLab ? 'netlab host' : 'loopback address'}, \`module-config: iterator\`, stub zone \`${DOMAIN}\`, otherwise defaults (rrset-roundrobin, minimal responses, QNAME minimisation); load: dnsperf 2.10 through the resolvers. Weights (\`dns.weight\` per machine): ${WEIGHTS.map((w, k) => `n${k + 1}=${w}`).join(', ')}; ${USERS.toLocaleString('en')} users set in ${(usersMs / 1000).toFixed(1)} s.`)
  md.push('')
  md.push('Settings commands used (on n1):')
  md.push('')
  md.push('```')
  for (const c of [...new Set(cliCommands)]) md.push(c)
  md.push('```')
  md.push('')
  md.push(`### Load per node — ${LOAD_S} s per configuration at ${RATE} q/s into the resolvers`)
  md.push('')
  md.push(`Query mix (dnsperf input, 200,000 lines): ${MIX.users * 100} % user names (Zipf popularity, s = 0.9, over ${USERS.toLocaleString('en')} users: mostly cache misses), ${MIX.services * 100} % service names (reg, sw, access, mfa, mail), ${MIX.apex * 100} % apex (A, NS, MX, TXT, SOA, CAA, AAAA), ${MIX.nonexistent * 100} % nonexistent names. Each configuration starts with cold resolver caches. "Received" is each node's own \`dns.counters\` (sum of questions), differenced every second; the CV and max/min of a window are across the ${N} nodes.`)
  md.push('')
  md.push(`| config | resolvers → nodes | answered by resolvers | questions per node n1…n${N} (node counters) | share of max node | CV per 1 s window, median (p90) | max/min per window, median | CV of totals | CV per window from resolver-side counters | windows in which a node saw a member down |`)
  md.push('|---|---|---:|---|---:|---:|---:|---:|---:|---:|')
  for (const r of loadResults) {
    const tot = r.totals.reduce((a, b) => a + b, 0)
    md.push(`| **${r.cfg.id}**: ${r.cfg.label} | ${tot.toLocaleString('en')} (${f1(pctOf(tot, r.client))} % of ${r.client.toLocaleString('en')}) | ${r.client.toLocaleString('en')}${r.lost ? ` (${r.lost} lost)` : ''} | ${r.totals.join(' / ')} | ${f1(pctOf(Math.max(...r.totals), tot))} % | ${f2(r.windowCv)} (${f2(r.windowCvP90)}) | ${f2(r.windowMaxMin)} | ${f2(r.totalCv)} | ${f2(r.windowCvKernel)} | ${r.windowsNotAllAlive} of ${r.windows.length}${r.windowsNotAllAlive ? ` (down to ${r.aliveMin} of ${N} seen)` : ''} |`)
  }
  md.push('')
  md.push(`Charts: ${loadResults.map((r) => `[config ${r.cfg.id}](results/spread-load-${r.cfg.id}.svg)`).join(', ')}, [shares per configuration](results/spread-load-shares.svg).`)
  md.push('')
  md.push(`### Answers for a weighted name vs weights (subset size 1)`)
  md.push('')
  md.push(`Direct: ${directTotal.toLocaleString('en')} questions for \`reg.${DOMAIN}\`, round-robin over the ${N} nodes (${(directTotal / directS).toFixed(0)} q/s${directLost ? `, ${directLost} without answer` : ''}). Through resolvers: ${RESOLVERS} Unbound instances with \`cache-max-ttl: 1\`, ${VIA_RATE} q/s for ${VIA_S} s; "draws" are the answers the nodes gave the resolvers (their \`weightedAnswers\` counters): ${drawsTotal}, about one per resolver every ${drawsTotal ? ((RESOLVERS * VIA_S) / drawsTotal).toFixed(1) : '?'} s (Unbound counts TTLs in whole seconds, so a 1 s TTL lasts until the second after next).`)
  md.push('')
  md.push('| node | weight | expected % | direct % | direct − expected, points | z | through resolvers % | draws served to resolvers % | subset 2: answers including it % (expected) |')
  md.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
  for (let k = 0; k < N; k++) {
    md.push(`| n${k + 1} | ${WEIGHTS[k]} | ${f2(100 * expected[k])} | ${f2(directShare[k])} | ${directDiff[k] >= 0 ? '+' : ''}${f2(directDiff[k])} | ${f1(directZ[k])} | ${f1(viaShare[k])} | ${f1(drawShare[k])} | ${f1(subsetShare[k])} (${f1(100 * subsetExpected[k])}) |`)
  }
  md.push('')
  md.push(`Direct answers by the node asked (each drew ${Math.round(directTotal / N).toLocaleString('en')}), % per target n1…n${N}: ${directByServer.map((row, s) => {
    const t = row.reduce((a, b) => a + b, 0)
    return `n${s + 1}: ${row.map((c) => f1(pctOf(c, t))).join(' / ')}`
  }).join('; ')}. Members seen alive by each node before / after: ${aliveBefore.join(' ')} / ${aliveAfter.join(' ')}.`)
  const maxDiff = Math.max(...directDiff.map(Math.abs))
  const maxRel = Math.max(...directShare.map((s, k) => Math.abs(s / (100 * expected[k]) - 1) * 100))
  const viaMaxDiff = Math.max(...viaShare.map((s, k) => Math.abs(s - 100 * expected[k])))
  const sdVia = Math.max(...expected.map((e) => Math.sqrt((e * (1 - e)) / Math.max(1, drawsTotal)) * 100))
  md.push('')
  md.push(`Direct: largest deviation ${f2(maxDiff)} percentage points (${f1(maxRel)} % relative); with ${directTotal.toLocaleString('en')} answers one standard deviation is ≤ ${f2(100 * Math.sqrt(0.25 / directTotal))} points. Through resolvers: largest deviation ${f1(viaMaxDiff)} points over ${drawsTotal} draws (one standard deviation ≈ ${f1(sdVia)} points for the largest weight): each resolver holds one draw for a whole TTL, so the spread converges only with resolvers × TTL windows. Chart: [answer shares vs weights](results/spread-answers.svg).`)
  md.push('')
  md.push(`### Failure: n${victim + 1} (weight ${WEIGHTS[victim]}, expected share ${f1(100 * expected[victim])} %) ${useLab ? 'vanishes (netlab cut, then SIGKILL: silent, like a machine that dies)' : 'is killed (SIGKILL; on loopback the kernel still answers ICMP port unreachable)'}`)
  md.push('')
  md.push(`During the run: dnsperf at 600 q/s (same mix) through 3 resolvers (no TTL cap: weighted names 30 s), questions for \`reg.${DOMAIN}\` at 100 q/s directly to the surviving nodes and 60 q/s through the resolvers; killed at t = ${f1(killedAt)} s, restarted (\`pryv-node start\`, ready after ${(restartMs / 1000).toFixed(1)} s) at t = ${f1(backAt)} s.`)
  md.push('')
  md.push('| figure | seconds |')
  md.push('|---|---:|')
  md.push(`| kill → last direct answer naming n${victim + 1} (its share reaches 0) | ${f1(directZeroS)} |`)
  md.push(`| kill → last answer through the resolvers naming n${victim + 1} | ${f1(viaZeroS)}${shareIn(answersVia, 0, killedAt) === 0 ? ' (no resolver held a draw naming it at the kill)' : ''} |`)
  md.push(`| kill → the resolvers stop sending n${victim + 1} questions (end of the last 1 s window with any) | ${f1(resolversStopS)} |`)
  md.push(`| questions the resolvers sent n${victim + 1} after the kill / from 10 s after it, until it came back | ${sentAfterKill} / ${sentAfter10} |`)
  md.push(`| back (ready) → first direct answer naming it | ${orNot(directBackS)} |`)
  md.push(`| back → first answer through the resolvers naming it | ${orNot(viaBackS)} |`)
  md.push(`| back → the resolvers send it questions again | ${orNot(queriesBackS)} |`)
  md.push(`| its share before the kill: direct / through resolvers, % | ${f1(shareIn(answersDirect, 0, killedAt))} / ${f1(shareIn(answersVia, 0, killedAt))} |`)
  md.push(`| its share in the last 10 s after coming back: direct / through resolvers, % | ${f1(shareIn(answersDirect, total - 10, total))} / ${f1(shareIn(answersVia, total - 10, total))} |`)
  md.push('')
  md.push('Charts: [share of answers over time](results/spread-failure.svg), [questions per node per second](results/spread-failure-queries.svg).')

  const flaps = loadResults.filter((r) => r.windowsNotAllAlive > 0)
  if (flaps.length) md.push('', `**Liveness under load:** during ${flaps.map((r) => `config ${r.cfg.id} (${r.windowsNotAllAlive} of ${r.windows.length} windows, ending at ${r.notAllAliveAt.join(', ')} s, down to ${r.aliveMin} of ${N} members seen alive)`).join(', ')} some node missed others' heartbeats for more than 4 s, and a target seen down is left out of that node's weighted answers. Each later phase waits until every node sees every member alive again.`)
  if (notes.length) md.push('', `Waits: ${notes.join('; ')}.`)
  const A = loadResults.find((r) => r.cfg.id === 'A')
  goals.push(goal('weighted answers asked directly: largest deviation from the weight share, percentage points', Number(maxDiff.toFixed(2)), '≤ 1.5 (issue 7: within ±1.5 % of weights)', (x) => x <= 1.5))
  goals.push(goal('weighted answers asked directly: largest relative deviation, %', Number(maxRel.toFixed(1)), '≤ 1.5 (strict reading: relative)', (x) => x <= 1.5))
  goals.push({ figure: 'query load per node through 1 resolver (config A), CV per 1 s window (median)', measured: Number(A.windowCv.toFixed(3)), goal: 'no goal set (reported)', met: null })
  goals.push({ figure: 'failure: kill → share of answers 0, direct / through resolvers; resolvers stop sending it questions, s', measured: `${f1(directZeroS)} / ${f1(viaZeroS)}; ${f1(resolversStopS)}`, goal: 'no goal set (reported)', met: null })
  notes.push(`dns.weight reaches the weighted names; dns.ttl does not (weighted names keep the built-in 30 s TTL), hence cache-max-ttl on the resolvers for the short-TTL run.`)
} catch (err) {
  process.stderr.write(`${err.stack}\n`)
  process.exitCode = 1
  md.push(header('DNS load spread through real resolvers', COMMAND))
  md.push(`**failed after ${since().toFixed(0)} s**: ${err.message}`)
} finally {
  await cleanup()
  try {
    rmSync(l.root, { recursive: true, force: true })
  } catch {}
}
finish('spread', { title: 'DNS load spread through real resolvers', command: COMMAND, markdown: md.join('\n'), goals, charts, cut, notes })
process.exit(process.exitCode ?? 0)
