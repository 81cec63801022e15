#!/usr/bin/env node
// Disk use over a long life: N writes (users set and removed in a loop over a live set of L users)
// applied through the node's replica and LevelDB store, with the node's compaction policy, against
// the same writes without compaction (the reference, from the same run). Reports the data dir's size
// (the largest seen, sampled as it runs, and at the end, broken down into LevelDB's files and the
// records they hold) against the live state's (a snapshot's bytes) and the log's trailing window,
// and the time to load the state again (a restart), which must find it at the last write.
//   npm run build && node bench/compaction-disk.js [writes=1000000] [live=10000]
// In one process, without a mesh: signing and LevelDB are what a node does per entry; gossip is not.
import { promises as fs } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DEFAULT_COMPACTION, compactionDue } from '../dist/state/compaction.js'
import { entryHash, signEntry } from '../dist/state/entry.js'
import { Replica } from '../dist/state/replica.js'
import { encodeSnapshot } from '../dist/state/snapshot.js'
import { StateStore } from '../dist/state/store.js'
import { GENESIS_HASH } from '../dist/state/types.js'
import { header } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const WRITES = Number(process.argv[2] ?? 1_000_000)
const LIVE = Number(process.argv[3] ?? 10_000)
const COMMAND = `node bench/compaction-disk.js ${WRITES} ${LIVE}`
const PLATFORM = 'bench'
const scratch = []
onInterrupt(async () => { for (const d of scratch) await fs.rm(d, { recursive: true, force: true }) })

/** LevelDB's files by kind: tables (*.ldb), the write-ahead log of the memtable (*.log), the rest (manifest, info log). */
async function dirBytes(dir) {
  const files = { tables: 0, wal: 0, other: 0 }
  for (const name of await fs.readdir(dir)) {
    const kind = name.endsWith('.ldb') || name.endsWith('.sst') ? 'tables' : /^\d+\.log$/.test(name) ? 'wal' : 'other'
    // LevelDB deletes files its background compactions replaced: one may go between readdir and stat.
    files[kind] += (await fs.stat(join(dir, name)).catch(() => ({ size: 0 }))).size
  }
  return { total: files.tables + files.wal + files.other, ...files }
}
const SAMPLE_EVERY = 5000

async function run(compact) {
  const dir = await fs.mkdtemp(join(tmpdir(), 'pnbench-compaction-'))
  scratch.push(dir)
  const key = await generateKeyPair('Ed25519')
  const id = peerIdFromPrivateKey(key).toString()
  let store = await StateStore.open(dir)
  const replica = new Replica(await store.loadState(), store, PLATFORM)
  let prev = GENESIS_HASH
  let compactedThrough = DEFAULT_COMPACTION.trailing
  let compactions = 0
  let largest = { total: 0 }
  const apply = async (revision, command) => {
    const entry = await signEntry({ revision, prevHash: prev, payload: JSON.stringify({ ...command, at: revision, author: id }) }, key, id)
    const outcome = await replica.offer(entry, true)
    if (!outcome.applied) throw new Error(`entry ${revision} refused: ${outcome.reason}`)
    prev = entryHash(entry)
  }
  await apply(1, { kind: 'platform.create', id: PLATFORM, domain: 'pryv.test', founder: { peerId: id, name: 'core1', role: 'full', addresses: [] } })
  const started = performance.now()
  for (let i = 0; i < WRITES; i++) {
    const revision = i + 2
    // Fill the live set, then remove the oldest user and add a new one, in turn.
    const command = i < LIVE || i % 2 === 0
      ? { kind: 'dns.users.set', users: { [`user${i}`]: 'core1' } }
      : { kind: 'dns.users.remove', usernames: [`user${i - LIVE - 1}`] }
    await apply(revision, command)
    if (compact && compactionDue(DEFAULT_COMPACTION, { head: revision, compactedThrough, compactedAt: Date.now() }, Date.now())) {
      await store.compactLog(revision - DEFAULT_COMPACTION.trailing + 1, Date.now())
      compactedThrough = revision
      compactions++
    }
    if (i % SAMPLE_EVERY === SAMPLE_EVERY - 1) {
      const now = await dirBytes(dir)
      if (now.total > largest.total) largest = { ...now, atWrite: i + 1 }
    }
  }
  const writeSeconds = (performance.now() - started) / 1000
  const liveBytes = encodeSnapshot(PLATFORM, await store.exportState()).bytes.length
  const kept = await store.readEntries(1, 10 * WRITES)
  const logBytes = kept.reduce((sum, e) => sum + JSON.stringify(e).length, 0)
  await store.close()
  const disk = await dirBytes(dir)
  const t0 = performance.now()
  store = await StateStore.open(dir)
  const state = await store.loadState()
  const loadMs = performance.now() - t0
  await store.close()
  // A restart reads the state as it was at the last write: no entry is replayed, compacted or not.
  if (state.revision !== WRITES + 1) throw new Error(`the state on disk is at revision ${state.revision}, not at the last write ${WRITES + 1}`)
  await fs.rm(dir, { recursive: true, force: true })
  return { diskBytes: disk.total, disk, largest, liveBytes, loadMs, loadedRevision: state.revision, writeSeconds, compactions, logEntries: kept.length, logBytes, users: state.dnsUsers.size }
}

const withCompaction = await run(true)
const reference = await run(false)
const mib = (b) => (b / 1024 / 1024).toFixed(1)
// The bound the README states: the live state, the log at its longest (the trailing window plus the
// entries that trigger the next compaction), and LevelDB's write buffer (its memtable's log, 4 MiB
// by default, before it becomes a table).
const entryBytes = withCompaction.logBytes / withCompaction.logEntries
const windowBytes = (DEFAULT_COMPACTION.threshold + DEFAULT_COMPACTION.trailing) * entryBytes
const WRITE_BUFFER = 4 * 1024 * 1024
const bound = withCompaction.liveBytes + windowBytes + WRITE_BUFFER
const files = (d) => `${mib(d.tables)} tables + ${mib(d.wal)} write-ahead log + ${mib(d.other)} other`
const markdown = [
  header('compaction: disk use over a long life, and loading the state again', COMMAND),
  `| | data dir at the end | largest seen (sampled every ${SAMPLE_EVERY} writes) | live state (snapshot) | platform log entries kept | state load (restart) | writes/s | compactions |`,
  '|---|---|---|---|---|---|---|---|',
  ...[['with compaction (defaults: 10,000 / 5,000 kept)', withCompaction], ['reference: same writes, never compacted', reference]].map(([name, r]) =>
    `| ${name} | ${mib(r.diskBytes)} MiB | ${mib(r.largest.total)} MiB (after ${r.largest.atWrite} writes) | ${mib(r.liveBytes)} MiB (${r.users} users) | ${r.logEntries} (${mib(r.logBytes)} MiB as JSON) | ${r.loadMs.toFixed(0)} ms (revision ${r.loadedRevision}: nothing replayed) | ${Math.round(WRITES / r.writeSeconds)} | ${r.compactions} |`),
  '',
  `Data dir with compaction, in MiB: at the end ${files(withCompaction.disk)}; at its largest ${files(withCompaction.largest)}.`,
  `Bound checked (the README's): largest data dir ≤ live state + ${DEFAULT_COMPACTION.threshold + DEFAULT_COMPACTION.trailing} log entries (compaction threshold + trailing window; ${entryBytes.toFixed(0)} bytes each as JSON) + LevelDB's 4 MiB write buffer = ${mib(withCompaction.liveBytes)} + ${mib(windowBytes)} + 4 = ${mib(bound)} MiB.`
].join('\n')
finish('compaction-disk', {
  title: 'compaction: disk use and state load',
  command: COMMAND,
  markdown,
  goals: [goal('largest data dir with compaction (MiB)', Number(mib(withCompaction.largest.total)), `≤ ${mib(bound)} MiB (live state + 15,000 log entries + 4 MiB write buffer)`, () => withCompaction.largest.total <= bound)],
  figures: { withCompaction, reference }
})
