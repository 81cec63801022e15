#!/usr/bin/env node
// User registry benchmark on loopback, real node processes (3 full nodes, release pryv-io, --register):
//   npm run build && node bench/registry.js [registrations=300] [seconds=5] [users=100000]
// - reference: commit latency of `dns users set` through a follower's control socket, same run;
// - registrations through the register API (POST /users), sequential, each to the next node: p50/p99;
//   then 16 concurrent clients for `seconds`: registrations per second;
// - username availability checks (GET /:u/check_username, consistent: one shared read barrier) and
//   lookups (GET /cores?username=, local read) per second on one node, 16 concurrent clients;
// - `users` users imported: each node's resident memory and the DNS answer time of a user name
//   before and after (sequential queries to one node).
import { Resolver } from 'node:dns/promises'
import { control, header, lab, pct, sample, sleep, untilHealthy } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const registrations = Number(process.argv[2] ?? 300)
const seconds = Number(process.argv[3] ?? 5)
const importCount = Number(process.argv[4] ?? 100_000)
const CONCURRENCY = 16
const l = lab('pnbench-reg-')
onInterrupt(() => l.close())
const f1 = (x) => x.toFixed(1)
const args = ['--listen', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--register', '127.0.0.1:0']

/** Runs `op` from CONCURRENCY clients for `seconds`; returns completed operations per second. */
async function rate(op) {
  let done = 0
  const end = performance.now() + seconds * 1000
  await Promise.all(Array.from({ length: CONCURRENCY }, async (_, c) => {
    for (let i = 0; performance.now() < end; i++) {
      await op(c, i)
      done++
    }
  }))
  return done / seconds
}

async function dnsTimes(node, names, rounds = 1000) {
  const r = new Resolver({ timeout: 2000, tries: 1 })
  r.setServers([node.ready.dns[0]])
  const xs = []
  for (let i = 0; i < rounds; i++) {
    const t = performance.now()
    await r.resolveCname(`${names[i % names.length]}.pryv.test`)
    xs.push(performance.now() - t)
  }
  return xs
}

try {
  const nodes = [l.start('c1', ['init-platform', '--domain', 'pryv.test', '--name', 'c1', '--release', 'releases/pryv-io', ...args])]
  nodes[0].ready = await nodes[0].ready
  for (const name of ['c2', 'c3']) {
    const { invite } = await control(nodes[0], 'invite.create', { role: 'full' })
    const n = l.start(name, ['join-platform', invite, '--name', name, ...args])
    n.ready = await n.ready
    nodes.push(n)
  }
  const statuses = await untilHealthy(nodes)
  const follower = nodes[statuses.findIndex((s) => s.writerSet?.role !== 'leader')]
  const { values } = await control(nodes[0], 'settings.get', { reveal: true })
  const key = values['internals.registerSystemKey']
  const api = (i, method, path, body) => fetch(`http://${nodes[i % 3].ready.register}${path}`, {
    method,
    headers: { authorization: key, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body)
  }).then(async (res) => {
    await res.arrayBuffer()
    return res.status
  })
  const register = async (i, username) => {
    const status = await api(i, 'POST', '/users', { user: { username, email: `${username}@bench.test` }, host: { name: `c${(i % 3) + 1}` }, unique: ['username', 'email'] })
    if (status !== 201) throw new Error(`registration of ${username} answered ${status}`)
  }

  // Reference: commit latency through a follower, as bench/writer-set.js measures it.
  const commit = []
  for (let i = 0; i < registrations; i++) {
    const t = performance.now()
    await control(follower, 'dns.users.set', { users: { [`ref${i % 50}`]: 'c1' } })
    commit.push(performance.now() - t)
  }
  const sequential = []
  for (let i = 0; i < registrations; i++) {
    const t = performance.now()
    await register(i, `seq-${i}-user`)
    sequential.push(performance.now() - t)
  }
  const registrationsPerS = await rate((c, i) => register(c, `con-${c}-${i}-user`))
  const checksPerS = await rate((c, i) => api(0, 'GET', `/free-${c}-${i}/check_username`))
  const lookupsPerS = await rate((_c, i) => api(0, 'GET', `/cores?username=seq-${i % registrations}-user`))

  // Many users: memory and DNS before and after an import.
  const names = Array.from({ length: 200 }, (_, i) => `seq-${i % registrations}-user`)
  const dnsBefore = await dnsTimes(nodes[1], names)
  const rssBefore = nodes.map((n) => sample(n.proc.pid).rssMb)
  const importStart = performance.now()
  for (let i = 0; i < importCount; i += 1000) {
    const users = Array.from({ length: Math.min(1000, importCount - i) }, (_, k) => {
      const u = `bulk-${String(i + k).padStart(7, '0')}`
      return { username: u, core: `c${((i + k) % 3) + 1}`, fields: { email: `${u}@bulk.test`, language: 'en' }, unique: ['email'] }
    })
    await control(nodes[0], 'registry.import', { users }, 120_000)
  }
  const importS = (performance.now() - importStart) / 1000
  await untilHealthy(nodes)
  await sleep(2000)
  const rssAfter = nodes.map((n) => sample(n.proc.pid).rssMb)
  const dnsAfter = await dnsTimes(nodes[1], [...names.slice(0, 100), ...Array.from({ length: 100 }, (_, i) => `bulk-${String(i * 997 % importCount).padStart(7, '0')}`)])

  const command = `node bench/registry.js ${registrations} ${seconds} ${importCount}`
  const md = [header('user registry', command)]
  md.push('| figure | value | reference (same run) |')
  md.push('|---|---|---|')
  md.push(`| registration (POST /users), ${registrations} sequential, each to the next node: p50 / p99 ms | ${f1(pct(sequential, 50))} / ${f1(pct(sequential, 99))} | commit latency through a follower: ${f1(pct(commit, 50))} / ${f1(pct(commit, 99))} |`)
  md.push(`| registrations per second, ${CONCURRENCY} clients over 3 nodes, ${seconds} s | ${f1(registrationsPerS)} | |`)
  md.push(`| username checks per second on one node (consistent: shared read barrier), ${CONCURRENCY} clients | ${f1(checksPerS)} | lookups (/cores, local read): ${f1(lookupsPerS)}/s |`)
  md.push(`| ${importCount} users imported (in ${f1(importS)} s): resident memory per node, MB | ${rssAfter.map(f1).join(', ')} | before: ${rssBefore.map(f1).join(', ')} |`)
  md.push(`| DNS answer for a user name, 1000 sequential queries to one node: p50 / p99 ms | ${f1(pct(dnsAfter, 50))} / ${f1(pct(dnsAfter, 99))} | before the import: ${f1(pct(dnsBefore, 50))} / ${f1(pct(dnsBefore, 99))} |`)
  const perUserKb = ((Math.max(...rssAfter.map((r, i) => r - rssBefore[i]))) * 1024) / importCount
  finish('registry', {
    title: 'User registry',
    command,
    markdown: md.join('\n'),
    notes: [`about ${f1(perUserKb)} kB of resident memory per registered user on the node that grew most (users, unique index, DNS users, LevelDB cache)`],
    goals: [
      goal('registration p50 ms vs commit p50 ms (same run): a registration is one commit', Number(f1(pct(sequential, 50) - pct(commit, 50))), '≤ commit p50 + 5 ms', (x) => x <= 5),
      goal(`DNS p50 ms with ${importCount} users, vs before`, Number(f1(pct(dnsAfter, 50) - pct(dnsBefore, 50))), 'unchanged (≤ +0.5 ms)', (x) => x <= 0.5)
    ],
    figures: {
      commit: { p50: pct(commit, 50), p99: pct(commit, 99) },
      registration: { p50: pct(sequential, 50), p99: pct(sequential, 99) },
      registrationsPerS,
      checksPerS,
      lookupsPerS,
      import: { users: importCount, seconds: importS, rssBefore, rssAfter },
      dns: { before: { p50: pct(dnsBefore, 50), p99: pct(dnsBefore, 99) }, after: { p50: pct(dnsAfter, 50), p99: pct(dnsAfter, 99) } }
    }
  })
} finally {
  await l.close()
}
