#!/usr/bin/env node
// Disk use over a long life: N writes (users set and removed in a loop over a live set of L users)
// applied through the node's replica and LevelDB store, with the node's compaction policy, against
// the same writes without compaction (the reference, from the same run). Reports the data dir's size
// against the live state's (a snapshot's bytes), and the time to load the state again (a restart).
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

async function dirBytes(dir) {
  let total = 0
  for (const name of await fs.readdir(dir)) total += (await fs.stat(join(dir, name))).size
  return total
}

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
  }
  const writeSeconds = (performance.now() - started) / 1000
  const liveBytes = encodeSnapshot(PLATFORM, await store.exportState()).bytes.length
  await store.close()
  const diskBytes = await dirBytes(dir)
  const t0 = performance.now()
  store = await StateStore.open(dir)
  const state = await store.loadState()
  const loadMs = performance.now() - t0
  const logEntries = (await store.readEntries(1, 10 * WRITES)).length
  await store.close()
  await fs.rm(dir, { recursive: true, force: true })
  return { diskBytes, liveBytes, loadMs, writeSeconds, compactions, logEntries, users: state.dnsUsers.size }
}

const withCompaction = await run(true)
const reference = await run(false)
const mib = (b) => (b / 1024 / 1024).toFixed(1)
const bound = withCompaction.liveBytes * 2 + 10 * 1024 * 1024
const markdown = [
  header('compaction: disk use over a long life, and loading the state again', COMMAND),
  `| | data dir | live state (snapshot) | platform log entries kept | state load (restart) | writes/s | compactions |`,
  '|---|---|---|---|---|---|---|',
  ...[['with compaction (defaults: 10,000 / 5,000 kept)', withCompaction], ['reference: same writes, never compacted', reference]].map(([name, r]) =>
    `| ${name} | ${mib(r.diskBytes)} MiB | ${mib(r.liveBytes)} MiB (${r.users} users) | ${r.logEntries} | ${r.loadMs.toFixed(0)} ms | ${Math.round(WRITES / r.writeSeconds)} | ${r.compactions} |`),
  '',
  `Bound checked: data dir ≤ 2 × live state + 10 MiB (${mib(bound)} MiB).`
].join('\n')
finish('compaction-disk', {
  title: 'compaction: disk use and state load',
  command: COMMAND,
  markdown,
  goals: [goal('data dir with compaction (MiB)', Number(mib(withCompaction.diskBytes)), `≤ ${mib(bound)} MiB (2 × live state + 10 MiB)`, (v) => v <= bound / 1024 / 1024)],
  figures: { withCompaction, reference }
})
