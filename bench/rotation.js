#!/usr/bin/env node
// Platform key rotation benchmark: real node processes on loopback, 3 full members and 2 observers.
//   npm run build && node bench/rotation.js [rounds=3]
// Measures `mesh rotate-key --window 0s` from the call to done (every member that is up applied
// each step, then the old key retired) and to every member holding only the new key, next to a
// plain write committed and applied on every member, measured in the same run.
import { control, header, lab, pct, sleep } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const rounds = Number(process.argv[2] ?? 3)
const NODE_ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none']
const l = lab()
onInterrupt(() => l.close())

async function appliedEverywhere(nodes, revision) {
  for (;;) {
    const all = await Promise.all(nodes.map((n) => control(n, 'status')))
    if (all.every((s) => s.revision >= revision)) return
    await sleep(10)
  }
}

try {
  const nodes = [l.start('n0', ['init-platform', '--domain', 'pryv.test', '--name', 'n0', ...NODE_ARGS])]
  await nodes[0].ready
  for (const [i, role] of [[1, 'full'], [2, 'full'], [3, 'observer'], [4, 'observer']]) {
    const { invite } = await control(nodes[0], 'invite.create', { role })
    const n = l.start(`n${i}`, ['join-platform', invite, '--name', `n${i}`, ...NODE_ARGS])
    await n.ready
    nodes.push(n)
  }
  for (;;) {
    const all = await Promise.all(nodes.map((n) => control(n, 'status')))
    if (all.every((s) => s.members.filter((m) => m.alive).length === nodes.length)) break
    await sleep(100)
  }

  const writeMs = []
  const rotateMs = []
  const everywhereMs = []
  for (let r = 0; r < rounds; r++) {
    for (let w = 0; w < 5; w++) {
      const t0 = performance.now()
      const { revision } = await control(nodes[0], 'dns.users.set', { users: { [`u${r}x${w}`]: 'n0' } })
      await appliedEverywhere(nodes, revision)
      writeMs.push(performance.now() - t0)
    }
    const t0 = performance.now()
    let progress = await control(nodes[0], 'mesh.rotateKey', { windowMs: 0 })
    while (progress.step !== 'done' && progress.step !== 'failed') {
      await sleep(10)
      progress = (await control(nodes[0], 'mesh.keyStatus')).rotation
    }
    if (progress.step === 'failed') throw new Error(`rotation failed: ${progress.error}`)
    rotateMs.push(performance.now() - t0)
    for (;;) {
      const all = await Promise.all(nodes.map((n) => control(n, 'mesh.keyStatus')))
      if (all.every((s) => s.keyId === progress.keyId && s.accepted.length === 1)) break
      await sleep(10)
    }
    everywhereMs.push(performance.now() - t0)
  }
  const alive = (await control(nodes[0], 'status')).members.filter((m) => m.alive).length

  const f = (x) => x.toFixed(0)
  const md = [header('platform key rotation', `node bench/rotation.js ${rounds}`)]
  md.push('| figure | p50 | max | goal |')
  md.push('|---|---|---|---|')
  md.push(`| rotate-key --window 0s, call → done, ms, ${rounds} rotations on 5 nodes | ${f(pct(rotateMs, 50))} | ${f(Math.max(...rotateMs))} | ≤ 10000 |`)
  md.push(`| call → every member holds only the new key, ms | ${f(pct(everywhereMs, 50))} | ${f(Math.max(...everywhereMs))} | |`)
  md.push(`| reference, same run: a write → applied on all 5 members, ms (${writeMs.length} writes) | ${f(pct(writeMs, 50))} | ${f(Math.max(...writeMs))} | |`)
  md.push(`| members up after the rotations | ${alive} of ${nodes.length} | | ${nodes.length} |`)
  finish('rotation', {
    title: 'Platform key rotation',
    command: `node bench/rotation.js ${rounds}`,
    markdown: md.join('\n'),
    notes: ['Each step waits for every member that is up to report it applied, through heartbeats (every second): that, not the key change, sets the time.'],
    goals: [
      goal('key rotation on 5 nodes (window 0), call → done, p50 ms', Number(f(pct(rotateMs, 50))), '≤ 10000', (x) => x <= 10000),
      goal('members up after the rotations', alive, `${nodes.length}`, (x) => x === nodes.length)
    ],
    figures: { rotateMs, everywhereMs, writeMs, alive }
  })
} finally {
  await l.close()
}
