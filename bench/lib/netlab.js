// The shared multi-host lab (../shared/netlab, network namespaces; see ../shared/reference/netlab.md),
// as the benchmarks use it: their own lab name and subnet so they never touch a lab a test suite runs,
// host addresses, commands run inside a host, and each host's interface byte counters.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

export const NETLAB = process.env.NETLAB ?? resolve(import.meta.dirname, '../../../shared/netlab')
export const LAB_NAME = process.env.BENCH_NETLAB_NAME ?? 'pnbench'
export const LAB_SUBNET = process.env.BENCH_NETLAB_SUBNET ?? '10.79.0'
const env = { ...process.env, NETLAB_NAME: LAB_NAME, NETLAB_SUBNET: LAB_SUBNET }

/** Why the lab cannot be used here, or null when it can. */
export function netlabUnavailable() {
  if (process.platform !== 'linux') return 'netlab needs Linux network namespaces'
  if (process.getuid?.() !== 0) return 'netlab needs root'
  if (!existsSync(NETLAB)) return `netlab not found at ${NETLAB}`
  const r = spawnSync('bash', [NETLAB, 'check'], { encoding: 'utf8', timeout: 20_000, env })
  return r.status === 0 ? null : `netlab check failed: ${`${r.stdout}${r.stderr}`.trim().split('\n').at(-1)}`
}

/** Runs one netlab command on the benchmarks' lab; throws with its output on failure. */
export function netlab(...args) {
  const r = spawnSync('bash', [NETLAB, ...args], { encoding: 'utf8', timeout: 60_000, env })
  if (r.status !== 0) throw new Error(`netlab ${args.join(' ')} exited ${r.status}\n${r.stdout}${r.stderr}`)
  return r.stdout
}

/** Brings up hosts h1..hN (and the harness address .254), refusing to go on without the harness. */
export function labUp(hosts) {
  netlab('down')
  netlab('up', String(hosts))
  if (!netlab('status').includes(`harness: ${LAB_SUBNET}.254`)) throw new Error('the lab has no harness interface; refusing to address lab hosts')
}

/** Kills every process in the lab and deletes it (never throws: used in finally blocks). */
export function labDown() {
  try {
    netlab('down')
  } catch (err) {
    process.stderr.write(`${err.message}\n`)
  }
}

export const hostIp = (i) => `${LAB_SUBNET}.${i}`
export const namespaceOf = (i) => `${LAB_NAME}-h${i}`

/** `argv` inside host i, as one process whose pid is the program's own (netlab exec). */
export const argvIn = (i, cmd, args) => ['env', [`NETLAB_NAME=${LAB_NAME}`, `NETLAB_SUBNET=${LAB_SUBNET}`, 'bash', NETLAB, 'exec', `h${i}`, cmd, ...args]]

export function spawnIn(i, cmd, args, options = {}) {
  const [c, a] = argvIn(i, cmd, args)
  return spawn(c, a, { stdio: ['ignore', 'ignore', 'inherit'], ...options, env: { ...env, ...(options.env ?? {}) } })
}

/** A command inside host i, synchronously (iptables, ip). */
export function runIn(i, cmd, args) {
  const r = spawnSync('ip', ['netns', 'exec', namespaceOf(i), cmd, ...args], { encoding: 'utf8', timeout: 20_000 })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} in h${i} exited ${r.status}: ${r.stderr}`)
  return r.stdout
}

/** Bytes and packets received and sent on host i's lab interface (eth0), from the kernel's counters. */
export function ifaceCounters(i) {
  const [link] = JSON.parse(spawnSync('ip', ['-n', namespaceOf(i), '-s', '-j', 'link', 'show', 'eth0'], { encoding: 'utf8' }).stdout)
  const { rx, tx } = link.stats64
  return { rxBytes: rx.bytes, txBytes: tx.bytes, rxPackets: rx.packets, txPackets: tx.packets }
}
