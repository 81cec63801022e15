#!/usr/bin/env node
// CLI cold start: wall time and peak RSS of `pryv-node --version`, `status`, `config get` and
// `dns users get` against a running single-node platform, next to a bare `node -e 0` in the same run
// (the floor: starting Node itself). Each command runs as a fresh process, one at a time.
//   npm run build && node bench/cli.js [runs=20]
// Peak RSS comes from GNU time (/usr/bin/time); without it only wall times are given.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { header, pct } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const runs = Number(process.argv[2] ?? 20)
const COMMAND = `node bench/cli.js ${runs}`
const BIN = resolve(import.meta.dirname, '../bin/pryv-node.js')
const GNU_TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
const dir = mkdtempSync(join(tmpdir(), 'pnbench-cli-'))

const node = spawn(process.execPath, [BIN, '--data-dir', dir, 'init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.61.9:0', '--dns', 'none', '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, PRYV_LOG_LEVEL: 'warn' } })
const stop = async () => {
  if (node.exitCode === null) node.kill('SIGTERM')
  await new Promise((r) => (node.exitCode === null ? node.once('exit', r) : r()))
  rmSync(dir, { recursive: true, force: true })
}
onInterrupt(stop)
await new Promise((ready, fail) => {
  createInterface({ input: node.stdout }).on('line', (line) => { if (line.includes('"ready"')) ready() })
  node.once('exit', (code) => fail(new Error(`the node exited (${code}) before it was ready`)))
})

const cases = [
  { name: 'node -e 0 (reference)', args: ['-e', '0'] },
  { name: 'pryv-node --version', args: [BIN, '--version'] },
  { name: 'pryv-node status', args: [BIN, '--data-dir', dir, 'status'] },
  { name: 'pryv-node config get', args: [BIN, '--data-dir', dir, 'config', 'get'] },
  { name: 'pryv-node dns users get', args: [BIN, '--data-dir', dir, 'dns', 'users', 'get'] }
]

/** One cold run: wall ms, and peak RSS in MB when GNU time is there. */
function once(args) {
  const t0 = performance.now()
  const r = GNU_TIME
    ? spawnSync(GNU_TIME, ['-f', '%M', process.execPath, ...args], { encoding: 'utf8' })
    : spawnSync(process.execPath, args, { encoding: 'utf8' })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  const rssKb = GNU_TIME ? Number(r.stderr.trim().split('\n').at(-1)) : Number.NaN
  return { ms, rssMb: rssKb / 1024 }
}

const results = []
// Interleaved rounds: a burst of load from elsewhere hits every case alike.
const samples = cases.map(() => [])
for (let i = 0; i < runs; i++) for (const [k, c] of cases.entries()) samples[k].push(once(c.args))
for (const [k, c] of cases.entries()) {
  const ms = samples[k].map((s) => s.ms)
  results.push({ name: c.name, p50: pct(ms, 50), p90: pct(ms, 90), rssMb: Math.max(...samples[k].map((s) => s.rssMb)) })
}
await stop()

const md = [header('CLI cold start: wall time and peak RSS per command', COMMAND)]
md.push(`${runs} runs of each, interleaved; a single-node platform running on the same machine.\n`)
md.push('| command | p50 ms | p90 ms | peak RSS MB |')
md.push('|---|---|---|---|')
for (const r of results) md.push(`| ${r.name} | ${r.p50.toFixed(0)} | ${r.p90.toFixed(0)} | ${Number.isNaN(r.rssMb) ? '-' : r.rssMb.toFixed(0)} |`)
const goals = results.slice(1).flatMap((r) => [
  goal(`${r.name}: p50 wall time`, r.p50, '≤ 150 ms', (x) => x <= 150),
  goal(`${r.name}: peak RSS`, r.rssMb, '≤ 50 MB', (x) => x <= 50)
])
finish('cli', { title: 'CLI cold start', command: COMMAND, markdown: md.join('\n'), goals, figures: results })
