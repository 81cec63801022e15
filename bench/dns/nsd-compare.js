// pryv-node's DnsServer against NSD on loopback, same zone, same dnsperf runs (dns-notes.md §3-4).
// Servers pinned to CPU 1, dnsperf to CPU 0; the figure that matters is queries per server-CPU-second.
//
//   npm run build && node bench/dns/nsd-compare.js
//   env: DNS_BENCH_SECONDS (8), DNS_BENCH_ROUNDS (3), DNS_BENCH_NODE (node binary for the server,
//        default this one), DNS_BENCH_OUT (bench/dns/RESULTS-dns.md)
// Needs Debian packages nsd, dnsperf (and util-linux taskset).
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { queriesA, queriesMix, zoneFile } from './zone.js'

const SECONDS = Number(process.env.DNS_BENCH_SECONDS ?? 8)
const ROUNDS = Number(process.env.DNS_BENCH_ROUNDS ?? 3)
const NODE = process.env.DNS_BENCH_NODE ?? process.execPath
const OUT = process.env.DNS_BENCH_OUT ?? fileURLToPath(new URL('./RESULTS-dns.md', import.meta.url))
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())
const NSD_PORT = 5301
const NODE_PORT = 5302

const dir = mkdtempSync(join(tmpdir(), 'dns-bench-'))
const children = []

function startNsd() {
  mkdirSync(join(dir, 'zone'))
  mkdirSync(join(dir, 'nsd'))
  writeFileSync(join(dir, 'zone', 'example.test.zone'), zoneFile)
  writeFileSync(
    join(dir, 'nsd', 'nsd.conf'),
    `server:
    ip-address: 127.0.0.1@${NSD_PORT}
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "${dir}/zone"
    database: ""
    zonelistfile: "${dir}/nsd/zone.list"
    xfrdfile: "${dir}/nsd/xfrd.state"
    pidfile: "${dir}/nsd/nsd.pid"
    logfile: "${dir}/nsd/nsd.log"
    minimal-responses: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "example.test"
    zonefile: "example.test.zone"
`
  )
  const p = spawn('taskset', ['-c', '1', 'nsd', '-c', join(dir, 'nsd', 'nsd.conf'), '-d'], { stdio: 'ignore' })
  children.push(p)
  return p
}

function startNode() {
  const serve = fileURLToPath(new URL('./serve.js', import.meta.url))
  const p = spawn('taskset', ['-c', '1', NODE, serve, String(NODE_PORT), '1'], { stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(p)
  return p
}

/** Resolves once the server answers a SOA query. */
async function waitReady(port) {
  // SOA example.test, ID 0xabcd.
  const q = Buffer.from('abcd00000001000000000000076578616d706c6504746573740000060001', 'hex')
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((resolve) => {
      const s = createSocket('udp4')
      const t = setTimeout(() => {
        s.close()
        resolve(false)
      }, 100)
      s.on('message', () => {
        clearTimeout(t)
        s.close()
        resolve(true)
      })
      s.send(q, port, '127.0.0.1')
    })
    if (ok) return
  }
  throw new Error(`server on port ${port} did not answer`)
}

/** utime + stime of a process and all its descendants, in seconds. */
function cpuSeconds(pid) {
  let ticks = 0
  const walk = (p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      ticks += Number(f[11]) + Number(f[12])
      for (const t of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ').filter(Boolean)) walk(c)
      }
    } catch {
      // exited meanwhile
    }
  }
  walk(pid)
  return ticks / CLK_TCK
}

/** Busy and total ticks of the whole machine (for the "other load" column). */
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const idle = f[3] + f[4]
  const total = f.reduce((a, b) => a + b, 0)
  return { busy: total - idle, total }
}

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] })
    const chunks = []
    p.stdout.on('data', (d) => chunks.push(d))
    p.on('error', reject)
    p.on('close', () => resolve(Buffer.concat(chunks).toString()))
  })
}

async function dnsperf(port, file, extra) {
  return run('taskset', ['-c', '0', 'dnsperf', '-s', '127.0.0.1', '-p', String(port), '-d', file, '-c', '10', '-T', '1', ...extra])
}

async function throughput(server, test) {
  const c0 = cpuSeconds(server.pid)
  const m0 = machineTicks()
  const out = await dnsperf(server.port, test.file, ['-l', String(SECONDS), ...test.args])
  const cpu = cpuSeconds(server.pid) - c0
  const m1 = machineTicks()
  const completed = Number(/Queries completed:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0)
  const elapsed = Number(/Run time \(s\):\s+([\d.]+)/.exec(out)?.[1] ?? SECONDS)
  const busyCores = ((m1.busy - m0.busy) / (m1.total - m0.total)) * cpus().length
  return { qps, completed, cpu, perCpu: cpu > 0 ? completed / cpu : 0, serverCores: cpu / elapsed, busyCores }
}

async function latency(server) {
  const out = await dnsperf(server.port, files.a, ['-l', '10', '-Q', '3000', '-v'])
  const ms = out
    .split('\n')
    .filter((l) => l.startsWith('> '))
    .map((l) => Number(l.trim().split(/\s+/).at(-1)) * 1000)
    .filter((v) => Number.isFinite(v))
    .sort((a, b) => a - b)
  const pct = (p) => ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))]
  return { n: ms.length, p50: pct(50), p90: pct(90), p99: pct(99) }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const k = (n) => `${(n / 1000).toFixed(1)}k`

const files = { a: join(dir, 'queries-a.txt'), mix: join(dir, 'queries-mix.txt') }
writeFileSync(files.a, `${queriesA}\n`)
writeFileSync(files.mix, `${queriesMix}\n`)
const tests = [
  { id: 'udp-a', label: 'UDP, A, no EDNS', file: files.a, args: [] },
  { id: 'udp-mix-edns', label: 'UDP, EDNS, mixed (NXDOMAIN/NODATA/CNAME/case)', file: files.mix, args: ['-e'] },
  { id: 'tcp-a', label: 'TCP, A', file: files.a, args: ['-m', 'tcp'] }
]

try {
  const nsd = startNsd()
  const node = startNode()
  const servers = [
    { name: 'NSD', pid: nsd.pid, port: NSD_PORT },
    { name: 'pryv-node', pid: node.pid, port: NODE_PORT }
  ]
  await Promise.all(servers.map((s) => waitReady(s.port)))
  const results = {}
  for (let r = 0; r < ROUNDS; r++) {
    for (const test of tests) {
      for (const s of servers) {
        const res = await throughput(s, test)
        const key = `${s.name} ${test.id}`
        results[key] = [...(results[key] ?? []), res]
        process.stderr.write(`round ${r + 1} ${s.name} ${test.id}: ${k(res.qps)} q/s, ${k(res.perCpu)} q/CPU-s, machine ${res.busyCores.toFixed(2)} cores\n`)
      }
    }
  }
  const lat = {}
  for (const s of servers) lat[s.name] = await latency(s)

  const v = spawnSync('nsd', ['-v'])
  const nsdVersion = `${v.stdout}${v.stderr}`.split('\n')[0] || 'nsd'
  const nodeVersion = execFileSync(NODE, ['--version']).toString().trim()
  const lines = [
    '## DNS: pryv-node DnsServer vs NSD (bench/dns/nsd-compare.js)',
    '',
    `${new Date().toISOString()} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · server Node ${nodeVersion}, 1 UDP thread · ${nsdVersion.trim()} (server-count 1, minimal-responses, RRL off) · dnsperf 2.10 · both servers pinned to CPU 1, dnsperf to CPU 0 · ${ROUNDS} interleaved rounds × ${SECONDS} s, medians.`,
    '',
    '| test | NSD q/s | NSD q per server-CPU-s | pryv-node q/s | pryv-node q per server-CPU-s | ratio (CPU-s basis) | machine busy, cores (median) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |'
  ]
  for (const t of tests) {
    const a = results[`NSD ${t.id}`]
    const b = results[`pryv-node ${t.id}`]
    const pa = median(a.map((x) => x.perCpu))
    const pb = median(b.map((x) => x.perCpu))
    lines.push(
      `| ${t.label} | ${k(median(a.map((x) => x.qps)))} | ${k(pa)} | ${k(median(b.map((x) => x.qps)))} | ${k(pb)} | **${(pb / pa).toFixed(2)}** | ${median([...a, ...b].map((x) => x.busyCores)).toFixed(2)} |`
    )
  }
  lines.push(
    '',
    'Latency at a fixed 3,000 q/s (UDP A, 10 s, `dnsperf -Q 3000 -v`), ms:',
    '',
    '| server | queries | p50 | p90 | p99 |',
    '| --- | ---: | ---: | ---: | ---: |'
  )
  for (const s of servers) {
    const l = lat[s.name]
    lines.push(`| ${s.name} | ${l.n} | ${l.p50?.toFixed(3)} | ${l.p90?.toFixed(3)} | ${l.p99?.toFixed(3)} |`)
  }
  lines.push(
    '',
    'NSD is client-bound here (dnsperf saturates CPU 0 first), so its raw q/s understates it; queries per',
    'server-CPU-second is the capacity figure. Another tenant may share the machine: see the busy column.',
    ''
  )
  writeFileSync(OUT, lines.join('\n'))
  process.stdout.write(`${lines.join('\n')}\n`)
} finally {
  for (const c of children) c.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
}
