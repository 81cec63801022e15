// In-process cost of the request path (no sockets): ns per respond() call, and compile costs.
//   npm run build && taskset -c 1 node bench/dns/lookup-bench.js
import { compileZone } from '../../dist/dns/index.js'
import { DnsCounters } from '../../dist/dns/counters.js'
import { respond } from '../../dist/dns/respond.js'
import { spec } from './zone.js'

function query(name, type, edns) {
  const parts = [Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, edns ? 1 : 0])]
  for (const l of name.split('.')) parts.push(Buffer.from([l.length]), Buffer.from(l))
  parts.push(Buffer.from([0, type >> 8, type & 0xff, 0, 1]))
  if (edns) parts.push(Buffer.from([0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0]))
  return Buffer.concat(parts)
}

const time = (n, fn) => {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn(i)
  return Number(process.hrtime.bigint() - t0) / n
}

const zone = compileZone(spec)
const ctx = { zone, random: Math.random, counters: new DnsCounters(), maxUdpPayload: 1232 }
console.log(`Node ${process.version}`)
for (const [label, name, type, edns] of [
  ['static A', 'n1.example.test', 1, false],
  ['static A, mixed case, EDNS', 'N1.Example.TEST', 1, true],
  ['weighted A (3 of 3)', 'reg.example.test', 1, false],
  ['user → CNAME + A', 'alice.example.test', 1, false],
  ['NXDOMAIN', 'nope.example.test', 1, false],
  ['NODATA', 'n2.example.test', 28, false],
  ['REFUSED', 'www.example.org', 1, false]
]) {
  const m = query(name, type, edns)
  time(200_000, () => respond(m, false, ctx))
  console.log(`${label.padEnd(28)} ${time(2_000_000, () => respond(m, false, ctx)).toFixed(0)} ns`)
}

const users = new Map()
for (let i = 0; i < 100_000; i++) users.set(`user${i}`, 'co1')
const t0 = process.hrtime.bigint()
const big = compileZone({ ...spec, users })
console.log(`compile with 100,000 users   ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`)
console.log(`setUser (one user, in place) ${time(100_000, (i) => big.setUser(`new${i}`, 'co1')).toFixed(0)} ns`)
