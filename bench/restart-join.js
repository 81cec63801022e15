#!/usr/bin/env node
// Restart and join with a platform holding many users, without the rest of bench/backup.js (no backup,
// restore or etcd): for comparing builds quickly, e.g. a branch against its base built elsewhere.
//   npm run build && node bench/restart-join.js [users=100000] [runs=1]
// One node; `registry import` of the users (1,000 per control request); compaction at 50 entries so a
// new member takes a snapshot. Per run: restart (SIGTERM, `start` → ready line), then a new full member
// (`join-platform` → ready line → its revision at the head), and the snapshot transfer as the joiner
// reports it (fetch to checks passed). Prints one JSON line per run, with the load average.
import { loadavg } from 'node:os'
import { control, foundWithUsers, lab, waitFor } from './lib/nodes.js'

const USERS = Number(process.argv[2] ?? 100_000)
const RUNS = Number(process.argv[3] ?? 1)
const args = (i) => ['--listen', `127.0.57.${i + 1}:0`, '--dns', `127.0.57.${i + 1}:0`, '--admin', 'none']
const l = lab('pnbench-restart-join-')
const stop = async (n) => {
  n.proc.kill('SIGTERM')
  await new Promise((r) => n.proc.once('exit', r))
}
try {
  let core1 = await foundWithUsers(l, args(0), USERS)
  for (let run = 0; run < RUNS; run++) {
    const load = loadavg()[0]
    await stop(core1)
    let t0 = performance.now()
    core1 = l.start('core1', ['start', ...args(0)])
    await core1.ready
    const restartMs = performance.now() - t0
    const head = (await control(core1, 'status')).revision
    const { invite } = await control(core1, 'invite.create', { role: 'full' })
    t0 = performance.now()
    const joiner = l.start(`joiner${run}`, ['join-platform', invite, '--name', `joiner${run}`, ...args(1)])
    await joiner.ready
    const readyMs = performance.now() - t0
    await waitFor('joiner synced', async () => (await control(joiner, 'status')).revision >= head)
    const joinMs = performance.now() - t0
    const transfer = (await control(joiner, 'status')).compaction.transfers.lastInstalled
    await control(core1, 'members.remove', { name: `joiner${run}` }).catch(() => undefined)
    await stop(joiner)
    process.stdout.write(`${JSON.stringify({ users: USERS, restartMs: Math.round(restartMs), joinReadyMs: Math.round(readyMs), joinMs: Math.round(joinMs), transferMs: transfer?.ms, snapshotBytes: transfer?.bytes, load: [load, loadavg()[0]].map((x) => Number(x.toFixed(1))) })}\n`)
  }
} catch (err) {
  process.stderr.write(`${err.stack}\n`)
  process.exitCode = 1
} finally {
  await l.close()
}
