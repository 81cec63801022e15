// Shared by the benchmark harnesses: real node processes on loopback, their control sockets, and
// the percentile and header helpers every table uses.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { argvIn } from './netlab.js'

const BIN = resolve(import.meta.dirname, '../../bin/pryv-node.js')
const { callControl } = await import('../../dist/control/client.js')

/** A scratch directory and every node process started in it; `close()` kills them and removes it. */
export function lab(prefix = 'pnbench-') {
  const root = mkdtempSync(join(tmpdir(), prefix))
  const procs = new Set()
  // If the harness dies without closing the lab, its nodes die with it.
  process.on('exit', () => {
    for (const p of procs) p.kill('SIGKILL')
  })
  return {
    root,
    /**
     * Starts `pryv-node --data-dir <root>/<name> ...args --json`; `ready` resolves with the ready event.
     * With `host`, the node runs inside that netlab host (bench/lib/netlab.js), as the same pid.
     */
    start(name, args, { host } = {}) {
      const dir = join(root, name)
      const argv = [BIN, '--data-dir', dir, ...args, '--json']
      const [cmd, cmdArgs] = host === undefined ? [process.execPath, argv] : argvIn(host, process.execPath, argv)
      const proc = spawn(cmd, cmdArgs, { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] })
      procs.add(proc)
      proc.on('exit', () => procs.delete(proc))
      const ready = new Promise((res, rej) => {
        createInterface({ input: proc.stdout }).on('line', (l) => {
          try {
            const e = JSON.parse(l)
            if (e.event === 'ready') res(e)
          } catch {}
        })
        proc.on('exit', (c) => rej(new Error(`node ${name} exited ${c}`)))
      })
      return { name, dir, proc, ready, host }
    },
    /** Stops every node gracefully (SIGTERM, SIGKILL after 5 s) and removes the directory. */
    async close() {
      const exits = [...procs].map((p) => new Promise((r) => p.once('exit', r)))
      for (const p of procs) p.kill('SIGTERM')
      const force = setTimeout(() => { for (const p of procs) p.kill('SIGKILL') }, 5000)
      await Promise.all(exits)
      clearTimeout(force)
      rmSync(root, { recursive: true, force: true })
    }
  }
}

/** Calls a method of a node's control socket (the API the CLI uses). */
export const control = (node, method, params = {}, timeoutMs = 15_000) => callControl(join(node.dir, 'control.sock'), method, params, timeoutMs)

/** Nearest-rank percentile. */
export function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

/** Resident memory (MB) and CPU ticks used so far (user + system) of a process, from /proc. */
export function sample(pid) {
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1])
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { rssMb: rssKb / 1024, cpuTicks: Number(f[11]) + Number(f[12]) }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
export const CLK_TCK = 100

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Waits until the 3 full nodes answer, agree on one leader with 3 voters, and hold the same revision. */
export async function untilHealthy(nodes) {
  for (;;) {
    const all = await Promise.all(nodes.map((n) => control(n, 'status').catch(() => undefined)))
    const leaders = all.filter((s) => s?.writerSet?.role === 'leader')
    if (all.every(Boolean) && leaders.length === 1 && leaders[0].writerSet.voters.length === 3 && new Set(all.map((s) => s.revision)).size === 1) return all
    await sleep(100)
  }
}

/** Polls `test` every 20 ms until it holds (a throw counts as not yet); fails after `timeoutMs`. */
export async function waitFor(what, test, timeoutMs = 120_000) {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    if (await test().catch(() => false)) return
    await sleep(20)
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s`)
}

/**
 * A one-node platform in `l` holding `users` registry users (`registry import`, 1,000 per control
 * request), compacting at 50 entries so that a new member takes a snapshot; resolves once the log
 * has been compacted.
 */
export async function foundWithUsers(l, args, users) {
  const user = (i) => ({ username: `user${i}`, core: 'core1', fields: { email: `user${i}@example.com`, language: 'en', appid: 'pryv-bench', referer: 'bench' }, unique: ['email'] })
  const core1 = l.start('core1', ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...args])
  await core1.ready
  await control(core1, 'settings.change', { set: { 'storage.compactEntries': 50, 'storage.compactKeep': 20 }, input: 'typed', message: 'compact' })
  for (let i = 0; i < users; i += 1000) {
    await control(core1, 'registry.import', { users: Array.from({ length: Math.min(1000, users - i) }, (_, j) => user(i + j)) }, 120_000)
  }
  await waitFor('compaction', async () => (await control(core1, 'status')).compaction.log.firstRevision > 1)
  return core1
}

/** The first lines of every result table: what ran, where, and the command that made it. */
export function header(title, command) {
  return `# ${title} — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} cores (${cpus()[0].model})\ncommand: ${command}\n`
}
