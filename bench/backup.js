#!/usr/bin/env node
// Backup, restore, restart and join with a platform holding many users, next to etcd doing the same
// with as many keys of a similar size, in the same run (etcd 3.4 is Debian's etcd-server/etcd-client).
//   npm run build && node bench/backup.js [users=100000]
// pryv-node: one node; `registry import` of the users (1,000 per control request); compaction by
// small thresholds so that a new member takes a snapshot. Each figure is the wall time of what an
// operator runs, process start included:
//   restart    SIGTERM, then `pryv-node start` → its ready line (state loaded from disk);
//   join       `join-platform <invite>` (a full member) → ready → every user there (its revision at the
//              head) and its DNS server answering for the last user; the snapshot transfer apart;
//   backup     `pryv-node backup <file> --key-file` (online; scrypt, AES-GCM) → exit;
//   restore    every node stopped; `pryv-node restore <file>` on a fresh data dir → ready.
// etcd: one member; the same number of keys with values of the pryv-node snapshot's bytes per user;
//   `etcdctl snapshot save`, restart → serving, `member add` + a new member → caught up,
//   `etcdctl snapshot restore` + start → serving.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { dnsClient } from './lib/dns-client.js'
import { control, foundWithUsers, header, lab, waitFor } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const USERS = Number(process.argv[2] ?? 100_000)
const COMMAND = `node bench/backup.js ${USERS}`
const BIN = join(import.meta.dirname, '../bin/pryv-node.js')
const IP = '127.0.17.1'
const args = (i) => ['--listen', `127.0.17.${i + 1}:0`, '--dns', `127.0.17.${i + 1}:0`, '--admin', 'none']
const l = lab('pnbench-backup-')
const etcdDir = mkdtempSync(join(tmpdir(), 'pnbench-backup-etcd-'))
const etcdProcs = new Set()
async function cleanup() {
  for (const p of etcdProcs) p.kill('SIGKILL')
  rmSync(etcdDir, { recursive: true, force: true })
  await l.close()
}
onInterrupt(cleanup)

const since = (t0) => performance.now() - t0
const loads = [loadavg()[0]]

/** Runs the CLI to its exit; returns the wall time. */
function cli(argv, env = {}) {
  const t0 = performance.now()
  const r = spawnSync(process.execPath, [BIN, ...argv], { encoding: 'utf8', env: { ...process.env, PRYV_LOG_LEVEL: 'warn', ...env } })
  if (r.status !== 0) throw new Error(`pryv-node ${argv.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`)
  return { ms: since(t0), stdout: r.stdout }
}

async function pryvNode() {
  const core1 = await foundWithUsers(l, args(0), USERS)
  const head = (await control(core1, 'status')).revision
  const snapshotBytes = Buffer.from((await control(core1, 'backup.snapshot', {}, 120_000)).snapshot, 'base64').length
  // The data dir as it is now (status's figure is sampled every 10 s and may predate the import).
  const diskBytes = Number(spawnSync('du', ['-sb', core1.dir], { encoding: 'utf8' }).stdout.split('\t')[0])
  loads.push(loadavg()[0])

  // Restart: SIGTERM, then start on the same data dir.
  core1.proc.kill('SIGTERM')
  await new Promise((r) => core1.proc.once('exit', r))
  let t0 = performance.now()
  const again = l.start('core1', ['start', ...args(0)])
  await again.ready
  const restartMs = since(t0)
  const restarted = (await control(again, 'status')).compaction
  loads.push(loadavg()[0])

  // Join of a new full member: it takes the state by snapshot.
  const { invite } = await control(again, 'invite.create', { role: 'full' })
  const dns = dnsClient({ timeoutMs: 200 })
  t0 = performance.now()
  const core2 = l.start('core2', ['join-platform', invite, '--name', 'core2', ...args(1)])
  const ready = await core2.ready
  const joinReadyMs = since(t0)
  await waitFor('joiner synced', async () => (await control(core2, 'status')).revision >= head)
  const [host, port] = [ready.dns[0].slice(0, ready.dns[0].lastIndexOf(':')), Number(ready.dns[0].slice(ready.dns[0].lastIndexOf(':') + 1))]
  await waitFor('joiner answering DNS', async () => {
    const a = await dns.ask(host, `user${USERS - 1}.pryv.test`, 1, port)
    return a.rcode === 0 && a.addresses?.length > 0
  })
  const joinMs = since(t0)
  dns.close()
  const transfer = (await control(core2, 'status')).compaction.transfers.lastInstalled
  loads.push(loadavg()[0])

  // Backup, online.
  const keyFile = join(l.root, 'backup.key')
  cli(['backup', 'keygen', keyFile])
  // Not beside the key: pryv-node refuses that.
  mkdirSync(join(l.root, 'backups'))
  const file = join(l.root, 'backups', 'platform.pnb')
  const backupMs = cli(['--data-dir', again.dir, 'backup', file, '--key-file', keyFile, '--json']).ms
  const backupBytes = statSync(file).size
  loads.push(loadavg()[0])

  // Restore after losing every machine.
  for (const n of [again, core2]) {
    n.proc.kill('SIGTERM')
    await new Promise((r) => n.proc.once('exit', r))
  }
  t0 = performance.now()
  const restored = l.start('restored', ['restore', file, '--key-file', keyFile, '--name', 'core1', ...args(2).slice(0, 4)])
  await restored.ready
  const restoreMs = since(t0)
  const users = (await control(restored, 'registry.users', { usernames: [`user${USERS - 1}`] })).users.length
  if (users !== 1) throw new Error('the restored node lacks the last user')
  loads.push(loadavg()[0])
  return { head, snapshotBytes, diskBytes, restartMs, restartLoadedRevision: restarted.loadedRevision, joinReadyMs, joinMs, transfer, backupMs, backupBytes, restoreMs }
}

/** etcd, one member then two, in `etcdDir`; returns its figures, or a reason it was not measured. */
async function etcd(valueBytes) {
  if (spawnSync('etcd', ['--version']).status !== 0 || spawnSync('etcdctl', ['version']).status !== 0) return { missing: 'etcd is not installed (apt-get install -y etcd-server etcd-client)' }
  const version = /etcd Version: ([\d.]+)/.exec(spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'
  const member = (name, n) => ({ name, client: `http://${IP}:${23790 + n}`, peer: `http://${IP}:${23800 + n}`, dir: join(etcdDir, name) })
  const start = (m, cluster, state) => {
    const p = spawn('etcd', ['--name', m.name, '--data-dir', m.dir, '--listen-client-urls', m.client, '--advertise-client-urls', m.client,
      '--listen-peer-urls', m.peer, '--initial-advertise-peer-urls', m.peer, '--initial-cluster', cluster, '--initial-cluster-state', state,
      '--snapshot-count', '10000', '--logger', 'zap', '--log-level', 'error'], { stdio: ['ignore', 'ignore', 'ignore'] })
    etcdProcs.add(p)
    p.on('exit', () => etcdProcs.delete(p))
    return p
  }
  const stop = async (p) => {
    p.kill('SIGTERM')
    await new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', r)))
  }
  const post = async (m, path, body) => {
    const r = await fetch(`${m.client}${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) })
    if (!r.ok) throw new Error(`${path} ${r.status}`)
    return r.json()
  }
  const b64 = (s) => Buffer.from(s).toString('base64')
  const lastKey = `/users/user${USERS - 1}`
  const serving = (m, serializable) => waitFor(`etcd ${m.name} serving`, async () => (await post(m, '/v3/kv/range', { key: b64(lastKey), serializable })).kvs?.length === 1)
  const etcdctl = (m, argv) => {
    const t0 = performance.now()
    const r = spawnSync('etcdctl', ['--endpoints', m.client, ...argv], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } })
    if (r.status !== 0) throw new Error(`etcdctl ${argv.join(' ')}: ${r.stderr}`)
    return { ms: since(t0), stdout: r.stdout }
  }

  const m1 = member('e1', 1)
  let p1 = start(m1, `e1=${m1.peer}`, 'new')
  await waitFor('etcd up', async () => Boolean(await post(m1, '/v3/maintenance/status', {})))
  const value = 'v'.repeat(valueBytes)
  for (let i = 0; i < USERS; i += 100) {
    const success = []
    for (let j = i; j < Math.min(USERS, i + 100); j++) success.push({ request_put: { key: b64(`/users/user${j}`), value: b64(value) } })
    await post(m1, '/v3/kv/txn', { success })
  }
  const file = join(etcdDir, 'etcd.snapshot')
  const saveMs = etcdctl(m1, ['snapshot', 'save', file]).ms
  const snapshotBytes = statSync(file).size

  await stop(p1)
  let t0 = performance.now()
  p1 = start(m1, `e1=${m1.peer}`, 'new')
  await serving(m1, false)
  const restartMs = since(t0)

  const m2 = member('e2', 2)
  t0 = performance.now()
  etcdctl(m1, ['member', 'add', 'e2', `--peer-urls=${m2.peer}`])
  const p2 = start(m2, `e1=${m1.peer},e2=${m2.peer}`, 'existing')
  await serving(m2, true)
  const joinMs = since(t0)
  await stop(p2)
  await stop(p1)

  const m3 = member('e3', 3)
  t0 = performance.now()
  const r = spawnSync('etcdctl', ['snapshot', 'restore', file, '--data-dir', m3.dir, '--name', 'e3', '--initial-cluster', `e3=${m3.peer}`, '--initial-advertise-peer-urls', m3.peer], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' } })
  if (r.status !== 0) throw new Error(`etcdctl snapshot restore: ${r.stderr}`)
  const restoreToolMs = since(t0)
  start(m3, `e3=${m3.peer}`, 'new')
  await serving(m3, false)
  const restoreMs = since(t0)
  return { version, valueBytes, snapshotBytes, saveMs, restartMs, joinMs, restoreToolMs, restoreMs }
}

let node
let ref
try {
  node = await pryvNode()
  await l.close()
  ref = await etcd(Math.round(node.snapshotBytes / USERS))
} catch (err) {
  process.stderr.write(`${err.stack}\n`)
  process.exitCode = 1
} finally {
  await cleanup()
}

const s = (ms) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`)
const mib = (b) => `${(b / 1024 / 1024).toFixed(1)} MiB`
const md = [header(`backup, restore, restart and join with ${USERS.toLocaleString('en')} users, next to etcd`, COMMAND)]
if (node) {
  const etcdCol = (v) => (ref && !ref.missing ? v : '—')
  md.push(`Load average (1 min) during the run: ${loads.map((x) => x.toFixed(1)).join(', ')}${ref?.missing ? `. etcd not measured: ${ref.missing}` : `. Reference: etcd ${ref?.version} (Debian), one member, ${USERS.toLocaleString('en')} keys of ${ref?.valueBytes} bytes (the pryv-node snapshot's bytes per user), --snapshot-count 10000.`}`)
  md.push('')
  md.push('| figure | pryv-node | etcd (same run) | goal (issue 12) |')
  md.push('|---|---|---|---|')
  md.push(`| state: snapshot / data dir | ${mib(node.snapshotBytes)} / ${mib(node.diskBytes)} (revision ${node.head}) | ${etcdCol(mib(ref?.snapshotBytes ?? 0))} snapshot | |`)
  md.push(`| backup (\`pryv-node backup\` / \`etcdctl snapshot save\`), process included | ${s(node.backupMs)} (${mib(node.backupBytes)}, encrypted) | ${etcdCol(s(ref?.saveMs))} | ≤ 5 s |`)
  md.push(`| restore to serving (\`pryv-node restore\` → ready / \`etcdctl snapshot restore\` + etcd → serving) | ${s(node.restoreMs)} | ${etcdCol(`${s(ref?.restoreMs)} (restore tool ${s(ref?.restoreToolMs)})`)} | ≤ 10 s |`)
  md.push(`| restart to ready (SIGTERM, start) | ${s(node.restartMs)} (state loaded at revision ${node.restartLoadedRevision} of ${node.head}: no entry replayed) | ${etcdCol(s(ref?.restartMs))} | ≤ 3 s |`)
  md.push(`| join of a new member → all data there and answering (\`join-platform\` / \`member add\` + start) | ${s(node.joinMs)} (ready line ${s(node.joinReadyMs)}) | ${etcdCol(s(ref?.joinMs))} | ≤ 10 s |`)
  md.push(`| of which the snapshot transfer (download, checks, install) | ${node.transfer ? `${s(node.transfer.ms)} (${mib(node.transfer.bytes)})` : 'no snapshot taken'} | | |`)
}
finish('backup', {
  title: `Backup, restore, restart and join (${USERS} users), next to etcd`,
  command: COMMAND,
  markdown: md.join('\n'),
  goals: node ? [
    goal('backup of the platform, s', node.backupMs / 1000, '≤ 5', (v) => v <= 5),
    goal('restore to serving, s', node.restoreMs / 1000, '≤ 10', (v) => v <= 10),
    goal('restart to ready, s', node.restartMs / 1000, '≤ 3', (v) => v <= 3),
    goal('join of a new member to synced and answering DNS, s', node.joinMs / 1000, '≤ 10', (v) => v <= 10)
  ] : [],
  figures: { node, etcd: ref, loads }
})
process.exit(process.exitCode ?? 0)
