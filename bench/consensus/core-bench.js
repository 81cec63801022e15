// In-process cost of the pure consensus core (no disk, no sockets): committed writes per second in a
// 3-voter cluster whose messages all go through the wire codec, and the codec alone. Storage is
// MemoryStorage, so no fsync is counted; a real driver adds its disk sync per Ready.
//   npm run build && taskset -c 1 node bench/consensus/core-bench.js
import os from 'node:os'
import { decodeMessage, encodeMessage, MemoryStorage, RaftCore } from '../../dist/consensus/index.js'

const ids = ['n1', 'n2', 'n3']
const nodes = new Map()
for (const id of ids) {
  const storage = MemoryStorage.bootstrap(ids)
  let seed = id.charCodeAt(1)
  const random = () => {
    seed = (seed * 16807) % 2147483647
    return seed / 2147483647
  }
  nodes.set(id, { storage, core: new RaftCore({ id, random }, storage) })
}
let queue = []
let applied = 0
let bytes = 0
const drive = (n) => {
  while (n.core.hasReady()) {
    const rd = n.core.ready()
    n.storage.append(rd.entries)
    if (rd.hardState) n.storage.setHardState(rd.hardState)
    for (const m of rd.messages) {
      const wire = encodeMessage(m)
      bytes += wire.length
      queue.push(wire)
    }
    applied += rd.committedEntries.length
    n.core.advance()
  }
}
const deliver = () => {
  while (queue.length > 0) {
    const batch = queue
    queue = []
    for (const wire of batch) {
      const m = decodeMessage(wire)
      const n = nodes.get(m.to)
      n.core.step(m)
      drive(n)
    }
  }
}
while (![...nodes.values()].some((n) => n.core.softState().role === 'leader')) {
  for (const n of nodes.values()) {
    n.core.tick()
    drive(n)
  }
  deliver()
}
const leader = [...nodes.values()].find((n) => n.core.softState().role === 'leader')
const payload = new Uint8Array(64)

console.log(`Node ${process.version}, ${os.cpus()[0].model}, ${os.cpus().length} CPUs`)
for (const batch of [1, 16]) {
  const writes = 100_000
  applied = 0
  bytes = 0
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < writes; i += batch) {
    for (let j = 0; j < batch; j++) leader.core.propose(payload)
    drive(leader)
    deliver()
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  if (applied < 3 * writes) throw new Error(`only ${applied} of ${3 * writes} applications happened`)
  console.log(`${batch} proposal(s) per round: ${(writes / s).toFixed(0)} writes/s committed on all 3, ${(bytes / writes).toFixed(0)} wire bytes per write`)
}

const append = {
  type: 'append', from: '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf', to: '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo',
  term: 7, prevIndex: 1000, prevTerm: 7, commit: 999, entries: [{ index: 1001, term: 7, kind: 'normal', data: payload }]
}
const n = 200_000
let t0 = process.hrtime.bigint()
let wire
for (let i = 0; i < n; i++) wire = encodeMessage(append)
const enc = Number(process.hrtime.bigint() - t0) / n
t0 = process.hrtime.bigint()
for (let i = 0; i < n; i++) decodeMessage(wire)
const dec = Number(process.hrtime.bigint() - t0) / n
console.log(`append with one 64-byte entry between PeerIds: ${wire.length} bytes, encode ${enc.toFixed(0)} ns, decode ${dec.toFixed(0)} ns`)
