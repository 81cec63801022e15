import { existsSync, promises as fs } from 'node:fs'
import { dirname } from 'node:path'
import { type Command, Option } from 'commander'
import { type BackupView, type CertificateView, type Check, judgeBackups, judgeCertificate, judgeEngine, judgeFdLimit, judgeFreeSpace, judgeFsync, judgeMembers, judgePort, judgeReachability, judgeRmemMax, type MemberView, type ReachabilityView, worst } from '../../doctor/checks.js'
import { DEFAULT_ADMIN_LISTEN, parseAdminListen } from '../../admin/listen.js'
import { freeBytes, measureFsync, openFilesLimit, probeEngine, probePort, rmemMax } from '../../doctor/probes.js'
import { ExitCode, isOperatorError } from '../../errors.js'
import { formatAddress, parseMetricsListen } from '../../metrics/listen.js'
import { DataDir } from '../../node/data-dir.js'
import { splitHostPort } from '../../dns/listen-address.js'
import { packageVersion } from '../../version.js'
import type { CliContext } from '../context.js'
import { productionDefaults } from '../defaults.js'
import { table } from '../format.js'
import { parseHostPorts, parseListen } from '../parse.js'

/** doctor's exit code when the worst check warns (a failing check exits 7: the environment refuses). */
const DOCTOR_WARNED = 9

interface DoctorOptions {
  listen?: string[]
  dns?: string[]
  metrics?: string
  admin?: string
  services?: string
  dockerSocket?: string
  json?: boolean
}

interface StatusReply {
  dns: string[]
  admin: { url: string } | null
  backups: BackupView | null
  members: Array<MemberView & { addresses: string[] }>
}

/** `pryv-node doctor`: checks this machine for a node, before init or join and while it runs. */
export function registerDoctorCommand(program: Command, ctx: CliContext): void {
  program.command('doctor')
    .description('Check this machine for running a node: ports, disk (fsync latency, free space), limits, the Docker engine, and on a running node its members\' clocks and versions, whether they reach its advertised addresses, the certificate\'s expiry and the backups\' age. Each check: OK, WARN or FAIL with what to do.')
    .option('--listen <addrs>', 'mesh addresses to check (default: the node\'s, else the default)', parseListen)
    .option('--dns <host:port,...>', 'DNS addresses to check, or none', parseHostPorts)
    .option('--metrics <host:port>', 'the metrics address to check', (text: string) => formatAddress(parseMetricsListen(text)))
    .option('--admin <host:port>', `the admin app's address to check, or none (default: the node's, else ${DEFAULT_ADMIN_LISTEN})`)
    .addOption(new Option('--services <runtime>', 'the services backend to check for').choices(['docker', 'process', 'auto', 'none']))
    .option('--docker-socket <path>', 'the Docker-API engine\'s Unix socket')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExit code: 0 when every check is OK, 9 when the worst warns, 7 when one fails.\n\nExamples:\n  pryv-node doctor --listen 10.0.0.5:7400 --services docker    # before init-platform or join-platform\n  pryv-node doctor --json                                      # on a running node')
    .action(async (o: DoctorOptions) => {
      const dataDir = new DataDir(ctx.globals().dataDir)
      const initialised = existsSync(dataDir.configFile)
      const config = initialised ? await dataDir.readConfig() : undefined
      const kept = initialised ? await dataDir.readKeptOptions() : {}
      const status = await ctx.control('status').then((s) => s as StatusReply, (err) => {
        if (isOperatorError(err) && err.code === 'PRYV_NODE_NOT_RUNNING') return undefined
        throw err
      })
      const pick = <T>(key: keyof DoctorOptions & string, fallback: T): T => (o[key] ?? kept[key] ?? fallback) as T
      const listen = pick<string[]>('listen', config?.listen as string[] ?? parseListen(productionDefaults.listen))
      const dns = pick<string[]>('dns', config?.dns as string[] ?? parseHostPorts(productionDefaults.dns))
      const metrics = pick<string | undefined>('metrics', undefined)
      const admin = pick<string | undefined>('admin', undefined)
      const services = pick<string>('services', 'none')
      const dockerSocket = pick<string>('dockerSocket', process.env.DOCKER_HOST?.startsWith('unix://') ? process.env.DOCKER_HOST.slice(7) : '/var/run/docker.sock')

      const checks: Check[] = []
      // Ports: in use is expected where the running node serves.
      const ownAddresses = status?.members.find((m) => m.self)?.addresses ?? []
      for (const addr of listen) {
        const m = /^\/ip([46])\/([^/]+)\/tcp\/(\d+)/.exec(addr)
        if (!m || m[3] === '0') continue
        const probe = await probePort('mesh', 'tcp', m[2]!, Number(m[3]))
        const served = ownAddresses.some((a) => a.includes(`/tcp/${m[3]}`))
        checks.push(judgePort(probe, served))
        // The join endpoint listens on the mesh port + 1 (src/mesh/join-endpoint.ts).
        checks.push(judgePort(await probePort('join', 'tcp', m[2]!, Number(m[3]) + 1), served))
      }
      for (const hostPort of dns) {
        const { host, port } = splitHostPort(hostPort)
        if (port === 0) continue
        for (const protocol of ['udp', 'tcp'] as const) checks.push(judgePort(await probePort('DNS', protocol, host, port), status?.dns.some((d) => d.endsWith(`:${port}`)) === true))
      }
      if (metrics !== undefined) {
        const { host, port } = splitHostPort(metrics)
        if (port !== 0) checks.push(judgePort(await probePort('metrics', 'tcp', host, port), status !== undefined))
      }

      const adminAddress = parseAdminListen(admin ?? DEFAULT_ADMIN_LISTEN)
      if (adminAddress && adminAddress.port !== 0) {
        const check = judgePort(await probePort('admin', 'tcp', adminAddress.host, adminAddress.port), status?.admin != null)
        // At the default address, a port in use only leaves the node without its admin app (it says so and runs).
        checks.push(admin === undefined && check.result === 'FAIL' ? { ...check, result: 'WARN' } : check)
      }

      // The disk the data dir is (or will be) on.
      const dir = nearestExisting(dataDir.path)
      checks.push(judgeFreeSpace(await freeBytes(dir), dir))
      checks.push(await fsyncCheck(dir))

      // Limits: the running node's own, else this process's (what a node started from here gets).
      const nodePid = status ? Number.parseInt(await fs.readFile(dataDir.lockFile, 'utf8').catch(() => ''), 10) : Number.NaN
      const limit = await openFilesLimit(Number.isInteger(nodePid) ? nodePid : 'self')
      if (limit !== undefined) checks.push(judgeFdLimit(limit, Number.isInteger(nodePid) ? `the node, pid ${nodePid}` : 'this shell'))
      if (dns.length > 0) checks.push(judgeRmemMax(await rmemMax()))
      if (services === 'docker' || services === 'auto') checks.push(judgeEngine(await probeEngine(dockerSocket), dockerSocket, services === 'docker'))

      if (status) {
        checks.push(...judgeMembers(status.members, status.members.find((m) => m.self)?.version ?? packageVersion()))
        checks.push(...judgeReachability(await ctx.control('doctor.reachability') as ReachabilityView))
        const certs = await ctx.control('certs.status') as { certificate: CertificateView | null, settings: { automatic: boolean } }
        checks.push(judgeCertificate(certs.certificate, certs.settings.automatic))
        checks.push(judgeBackups(status.backups, Date.now()))
      } else if (initialised) checks.push({ name: 'members', result: 'WARN', detail: 'the node is not running: members\' clocks and versions not checked', hint: 'Start the node (pryv-node start, or systemctl start pryv-node) and run doctor again.' })

      const result = worst(checks)
      if (o.json) ctx.io.out(JSON.stringify({ result, checks }, null, 2))
      else ctx.io.out(formatChecks(checks, result))
      ctx.setExitCode(result === 'FAIL' ? ExitCode.environment : result === 'WARN' ? DOCTOR_WARNED : ExitCode.ok)
    })
}

async function fsyncCheck(dir: string): Promise<Check> {
  try {
    return judgeFsync(await measureFsync(dir))
  } catch (err) {
    return { name: 'disk fsync latency', result: 'FAIL', detail: `cannot write in ${dir}: ${(err as Error).message}`, hint: 'Free some space, or run as the user that owns the data dir.' }
  }
}

function nearestExisting(path: string): string {
  let dir = path
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir)
  return dir
}

function formatChecks(checks: readonly Check[], result: string): string {
  const rows = checks.map((c) => [c.result, c.name, c.detail])
  const hints = checks.filter((c) => c.result !== 'OK' && c.hint).map((c) => `  ${c.result} ${c.name}: ${c.hint}`)
  const counts = (['FAIL', 'WARN'] as const).map((r) => `${checks.filter((c) => c.result === r).length} ${r}`).join(', ')
  return [table(['RESULT', 'CHECK', 'DETAIL'], rows), ...(hints.length > 0 ? ['', 'What to do:', ...hints] : []), '', `doctor: ${result} (${counts})`].join('\n')
}
