// Shared by the DNS benchmarks: NSD on the bench zone, pinned processes, readiness, CPU time.
import { spawn } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { zoneFile } from './zone.js'

/** Clock ticks per second of /proc/<pid>/stat (Linux: 100 almost everywhere; getconf CLK_TCK). */
export const CLK_TCK = 100

/** Starts `cmd` pinned to CPU `cpu` (taskset); the process is added to `children` for cleanup. */
export function pinned(children, cpu, cmd, args) {
  const p = spawn('taskset', ['-c', String(cpu), cmd, ...args], { stdio: ['ignore', 'ignore', 'inherit'] })
  children.push(p)
  return p
}

/**
 * NSD 4 on 127.0.0.1@port serving the bench zone from `dir`, one server process, minimal responses.
 * `rrl`: { ratelimit, slip } (Debian's NSD has RRL on by default: 200/s per /24, slip 2); 0 = off.
 */
export function startNsd(children, dir, port, rrl = { ratelimit: 0, slip: 2 }) {
  mkdirSync(join(dir, 'zone'), { recursive: true })
  mkdirSync(join(dir, 'nsd'), { recursive: true })
  writeFileSync(join(dir, 'zone', 'example.test.zone'), zoneFile)
  writeFileSync(
    join(dir, 'nsd', 'nsd.conf'),
    `server:
    ip-address: 127.0.0.1@${port}
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
    rrl-ratelimit: ${rrl.ratelimit}
    rrl-slip: ${rrl.slip}
    rrl-whitelist-ratelimit: ${rrl.ratelimit}
remote-control:
    control-enable: no
zone:
    name: "example.test"
    zonefile: "example.test.zone"
`
  )
  return pinned(children, 1, 'nsd', ['-c', join(dir, 'nsd', 'nsd.conf'), '-d'])
}

/** Resolves once the server on 127.0.0.1:port answers a SOA query. */
export async function waitReady(port) {
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

/** utime and stime of a process and all its descendants (threads included), in seconds. */
export function cpuSeconds(pid, clkTck = CLK_TCK) {
  let user = 0
  let sys = 0
  const walk = (p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      user += Number(f[11])
      sys += Number(f[12])
      for (const t of readdirSync(`/proc/${p}/task`)) {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ').filter(Boolean)) walk(c)
      }
    } catch {
      // exited meanwhile
    }
  }
  walk(pid)
  return { user: user / clkTck, sys: sys / clkTck }
}

/** Writes `section` (which starts with `begin` and ends with `end`) into `file`, replacing the one there. */
export function replaceSection(file, begin, end, section) {
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : ''
  const at = previous.indexOf(begin)
  const stop = previous.indexOf(end)
  const kept = at >= 0 && stop > at ? previous.slice(0, at) + section + previous.slice(stop + end.length).replace(/^\n/, '') : `${section}\n${previous}`
  writeFileSync(file, kept)
}
