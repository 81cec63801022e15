// Unbound (Debian's caching resolver) inside a netlab host (or on a loopback address), with the
// platform's domain as a stub zone.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { dnsClient, QTYPE } from './dns-client.js'
import { hostIp, LAB_SUBNET, spawnIn } from './netlab.js'

/** Installs Unbound from Debian when it is missing (root only); returns why it is unavailable, or null. */
export function ensureUnbound() {
  if (spawnSync('unbound', ['-V']).status === 0) return null
  if (process.getuid?.() !== 0) return 'unbound is not installed (apt-get install -y unbound)'
  process.stderr.write('installing unbound (apt-get install -y --no-install-recommends unbound)\n')
  const r = spawnSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends unbound || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends unbound)'], { stdio: ['ignore', 'ignore', 'inherit'] })
  return r.status === 0 && spawnSync('unbound', ['-V']).status === 0 ? null : 'apt-get install unbound failed'
}

export function unboundVersion() {
  return /Version ([\d.]+)/.exec(spawnSync('unbound', ['-V'], { encoding: 'utf8' }).stdout)?.[1] ?? '?'
}

/**
 * Writes the configuration and starts Unbound in host `host` (listening on `ip`):
 *   stub      addresses listed as stub-addr for `domain`
 *   prime     stub-prime: the resolver asks the zone for its NS set and then uses those servers
 *   maxTtl    cache-max-ttl (caps every TTL it caches; emulates a short TTL the zone cannot set)
 *   loopback  the nodes are on 127.0.0.x (do-not-query-localhost: no, outgoing-interface: ip)
 * Everything else is Debian's defaults (rrset-roundrobin yes, minimal-responses yes, qname minimisation).
 */
export async function startUnbound({ host, ip = hostIp(host), allow = `${LAB_SUBNET}.0/24`, loopback = false, spawnOn = spawnIn, dir, domain, stub, prime = false, maxTtl }) {
  mkdirSync(dir, { recursive: true })
  const conf = join(dir, 'unbound.conf')
  writeFileSync(
    conf,
    `server:
    interface: ${ip}
    outgoing-interface: ${ip}
    port: 53
    do-daemonize: no
    username: ""
    chroot: ""
    directory: "${dir}"
    pidfile: "${dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    num-threads: 1
    do-ip6: no
    access-control: ${allow} allow
    module-config: "iterator"
    # RFC 6761 makes "test." a static local zone by default; the platform's domain lives under it here.
    local-zone: "test." nodefault
    domain-insecure: "${domain}"
${loopback ? '    do-not-query-localhost: no\n' : ''}${maxTtl === undefined ? '' : `    cache-max-ttl: ${maxTtl}\n`}
stub-zone:
    name: "${domain}"
${stub.map((a) => `    stub-addr: ${a}\n`).join('')}    stub-prime: ${prime ? 'yes' : 'no'}

remote-control:
    control-enable: no
`
  )
  const proc = spawnOn(host, 'unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr.on('data', (d) => {
    stderr += d
  })
  const client = dnsClient({ timeoutMs: 300 })
  try {
    for (let i = 0; i < 50; i++) {
      const a = await client.ask(ip, domain, QTYPE.SOA)
      if (!a.timeout) return { host, ip, proc, conf }
      if (proc.exitCode !== null) break
    }
  } finally {
    client.close()
  }
  proc.kill('SIGKILL')
  throw new Error(`unbound in h${host} did not answer: ${stderr.trim()}`)
}

export async function stopUnbound(u) {
  if (!u || u.proc.exitCode !== null || u.proc.signalCode !== null) return
  const exited = new Promise((r) => u.proc.once('exit', r))
  u.proc.kill('SIGTERM')
  const t = setTimeout(() => u.proc.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(t)
}
