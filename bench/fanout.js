#!/usr/bin/env node
// Write → applied on every node, at several platform sizes, over real libp2p on loopback:
//   npm run build && node bench/fanout.js [sizes=5,20,50] [writes=50]
// Three full nodes run as separate processes; the observers are lighter in-process nodes, a few per
// host process (bench/lib/observer-host.js), each with its own libp2p node, LevelDB and data dir. A
// write is made on the leader; "applied everywhere" is when every host reports all its observers
// applied it (one IPC round trip included).
import { fork } from 'node:child_process'
import { resolve } from 'node:path'
import { control, header, lab, pct, sleep } from './lib/nodes.js'

const sizes = (process.argv[2] ?? '5,20,50').split(',').map(Number)
const writes = Number(process.argv[3] ?? 50)
const NODE_ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none']
const OBSERVERS_PER_HOST = 8

/** Sends one IPC request to a host process and resolves with its first reply. */
function ask(host, msg) {
  return new Promise((res) => {
    host.once('message', res)
    host.send(msg)
  })
}

async function platform(size) {
  const l = lab('pn-fan-')
  const full = [l.start('c1', ['init-platform', '--domain', 'pryv.test', '--name', 'c1', ...NODE_ARGS])]
  await full[0].ready
  for (const name of ['c2', 'c3']) {
    const n = l.start(name, ['join-platform', (await control(full[0], 'invite.create', { role: 'full' })).invite, '--name', name, ...NODE_ARGS])
    await n.ready
    full.push(n)
  }
  const { invite } = await control(full[0], 'invite.create', { role: 'observer', uses: 1000 })
  const hosts = []
  for (let first = 0; first < size - 3; first += OBSERVERS_PER_HOST) {
    const host = fork(resolve(import.meta.dirname, 'lib/observer-host.js'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    await new Promise((r) => host.once('message', r))
    const names = Array.from({ length: Math.min(OBSERVERS_PER_HOST, size - 3 - first) }, (_, k) => `o${first + k}`)
    await ask(host, { join: { invite, names, root: l.root } })
    hosts.push(host)
  }
  return { full, hosts, stop: async () => { await Promise.all(hosts.map((h) => new Promise((r) => { h.once('exit', r); h.send({ stop: true }) }))); await l.close() } }
}

console.log(header('write → applied on every node', `node bench/fanout.js ${sizes.join(',')} ${writes}`))
console.log('| nodes (3 full + observers) | writes | applied on every observer p50 ms | p99 ms | goal |')
console.log('|---|---|---|---|---|')
for (const size of sizes) {
  const p = await platform(size)
  try {
    // Let the observers' gossip mesh form before measuring.
    await sleep(3000)
    const statuses = await Promise.all(p.full.map((n) => control(n, 'status')))
    const leader = p.full[statuses.findIndex((s) => s.writerSet?.role === 'leader')] ?? p.full[0]
    const lat = []
    for (let w = 0; w < writes; w++) {
      const t0 = performance.now()
      const { revision } = await control(leader, 'dns.users.set', { users: { [`u${w}`]: 'c1' } })
      await Promise.all(p.hosts.map((h) => ask(h, { waitFor: revision })))
      lat.push(performance.now() - t0)
      await sleep(20)
    }
    console.log(`| ${size} | ${writes} | ${pct(lat, 50).toFixed(1)} | ${pct(lat, 99).toFixed(1)} | p99 ≤ 1000 at 50 |`)
  } finally {
    await p.stop()
  }
}
process.exit(0)
