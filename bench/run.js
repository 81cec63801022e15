#!/usr/bin/env node
// Runs every benchmark harness in turn and prints their tables (bench/RESULTS.md keeps the figures
// with the commands that made them). Each harness starts what it needs and stops it.
//   npm run bench            (builds first)
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'

const here = import.meta.dirname
const harnesses = [
  ['join.js', ['5', '10']],
  ['writer-set.js', ['300', '20']],
  ['fanout.js', ['5,20,50', '30']],
  ['settings.js', ['5', '30']],
  ['dns/nsd-compare.js', []]
]
let failed = 0
for (const [script, args] of harnesses) {
  console.log(`\n$ node bench/${script} ${args.join(' ')}`)
  const r = spawnSync(process.execPath, [resolve(here, script), ...args], { stdio: 'inherit', timeout: 15 * 60_000 })
  if (r.status !== 0) {
    failed++
    console.log(`(bench/${script} ended with ${r.status ?? r.signal})`)
  }
}
process.exit(failed > 0 ? 1 : 0)
