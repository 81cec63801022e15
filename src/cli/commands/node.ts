import { type Command, Option } from 'commander'
import { ExitCode, OperatorError } from '../../errors.js'
import { createLogger } from '../../log.js'
import { DataDir } from '../../node/data-dir.js'
import { type KeptOptions, mergeKeptOptions } from '../../node/kept-options.js'
import { platformRelease } from '../../release/platform.js'
import { builtinReleasePath, loadRelease } from '../../release/index.js'
import type { ReleaseRecord } from '../../release/types.js'
import { checkLocalLayers, type LocalSettings, readBaseSettings, type ServicesMode } from '../../node/settings-local.js'
import { initPlatform, joinPlatform, type RunningNode, startNode } from '../../node/lifecycle.js'
import type { CliContext } from '../context.js'
import { defaultNodeName, devDefaults, productionDefaults } from '../defaults.js'
import { type ForegroundExit, runUntilSignalled } from '../foreground.js'
import { parseDuration, parseHostPorts, parseListen, parsePeers, parsePositiveInt } from '../parse.js'
import { formatAddress, parseMetricsListen } from '../../metrics/listen.js'
import { probeMetricsAddress } from '../../metrics/http.js'
import { addRegisterOption, registerEvent } from './registry-option.js'
import { addAdminOption, adminRunOption, announceAdmin } from './admin.js'

/** init-platform, join-platform, start and dev: the commands that run a node in the foreground. */
export function registerNodeCommands(program: Command, ctx: CliContext): void {
  const exit: ForegroundExit = {}
  // The node may end its own run: it left the platform (exit 0) or cannot safely go on (exit 70,
  // so that a supervisor such as systemd restarts it from disk).
  const hooks = {
    onLeft: () => exit.end?.(0),
    onFatal: (err: unknown) => {
      ctx.io.err(`error PRYV_NODE_FATAL: the node stopped: ${(err as Error)?.message ?? String(err)}`)
      ctx.io.err('  hint: check the free space and permissions of the data dir and the log above, then start the node again (`pryv-node start`).')
      exit.end?.(70)
    }
  }
  // `keep`: the options to keep in the data dir for the next `start`, once the node runs with them.
  const foreground = async (start: () => Promise<RunningNode>, announce: (r: RunningNode) => Promise<void>, keep?: { dataDir: string, options: KeptOptions }): Promise<void> => {
    const running = await start()
    // Signals are handled from here on: a SIGTERM right after the ready line is a clean stop too.
    const stopped = runUntilSignalled(running, ctx.io, exit)
    if (keep) await new DataDir(keep.dataDir).writeKeptOptions(keep.options)
    await announce(running)
    ctx.setExitCode(await stopped)
  }
  // The environment and --set are the node's local settings layers, parsed with the platform's
  // release: here for a new platform (before anything is created), by the node otherwise.
  const localSettings = (o: { set: string[], services: ServicesMode, restartBudget?: number, dockerSocket?: string }, release?: ReleaseRecord): LocalSettings => {
    const dockerSocket = o.dockerSocket ?? (process.env.DOCKER_HOST?.startsWith('unix://') ? dockerSocketPath(process.env.DOCKER_HOST) : undefined)
    const local: LocalSettings = { env: process.env, setArgs: o.set, services: o.services, restartBudget: o.restartBudget, dockerSocket }
    if (release) for (const w of checkLocalLayers(local, platformRelease(release).schema).warnings) ctx.io.err(`warning: ${w}`)
    return local
  }
  /** `--release`, or the built-in demo release. */
  const releaseOf = async (o: { release?: string }): Promise<ReleaseRecord> => (await loadRelease(o.release ?? builtinReleasePath('demo'))).record
  const nodeOptions = (o: { name: string, listen: string[], announce?: string[], dns: string[], metrics?: string, register?: string, admin?: string, set: string[], services: ServicesMode, replaceVotersAfter: number }, release?: ReleaseRecord) => ({
    ...adminRunOption(o.admin),
    dataDir: ctx.globals().dataDir,
    name: o.name,
    listen: o.listen,
    announce: o.announce,
    dns: o.dns,
    metricsListen: o.metrics,
    registerListen: o.register,
    log: createLogger(ctx.globals().logLevel),
    settings: localSettings(o, release),
    writerSetPolicy: writerSetPolicy(o),
    ...hooks
  })
  const collect = (value: string, previous: string[]): string[] => [...previous, value]
  // Refused before anything starts: a non-loopback address (exit 2, src/metrics/listen.ts) and a
  // port in use (exit 7), so a node never half-starts on a bad --metrics.
  const addMetricsOption = (cmd: Command): Command => cmd
    .option('--metrics <host:port>', 'serve Prometheus metrics over HTTP at /metrics on this loopback address (e.g. 127.0.0.1:9464)', (text: string) => formatAddress(parseMetricsListen(text)))
    .hook('preAction', async (command) => {
      const metrics = command.opts<{ metrics?: string }>().metrics
      if (metrics !== undefined) await probeMetricsAddress(parseMetricsListen(metrics))
    })
  // In --json ready events: where the metrics are served, when they are.
  const metricsEvent = (r: RunningNode): { metrics?: string, register?: string, admin?: string } => ({ ...(r.node.metrics.bound === undefined ? {} : { metrics: r.node.metrics.bound }), ...registerEvent(r.node), ...(r.node.admin.url === undefined ? {} : { admin: r.node.admin.url }) })
  const addSettingsOptions = (cmd: Command, services: ServicesMode): Command => cmd
    .option('--set <key=value>', 'a local setting of this node, above replicated values (repeatable)', collect, [])
    .option('--restart-budget <n>', 'how many members restart the same service at once after a settings change', parsePositiveInt, 1)
    .addOption(new Option('--services <runtime>', 'run the release\'s services as containers of a Docker-API engine, as child processes, whichever this machine has (auto), or not at all (only render their configuration)').choices(['docker', 'process', 'auto', 'none']).default(services))
    .option('--docker-socket <path>', 'the Docker-API engine\'s Unix socket (dockerd or podman); default: DOCKER_HOST when it is unix://…, else /var/run/docker.sock', dockerSocketPath)
  const addWriterSetOptions = (cmd: Command): Command => cmd
    .option('--replace-voters-after <duration>', 'how long a voter of the writer set may be unreachable before another full member replaces it', parseDuration, 30_000)
  const writerSetPolicy = (o: { replaceVotersAfter: number }) => ({ deadVoterAfterMs: o.replaceVotersAfter })
  const addNodeOptions = (cmd: Command): Command => addAdminOption(addRegisterOption(addMetricsOption(addWriterSetOptions(addSettingsOptions(cmd, 'none'))))
    .option('--name <name>', 'this node\'s name, a DNS label (<name>.<domain>)', defaultNodeName())
    .option('--listen <addrs>', 'mesh listen addresses (multiaddrs or ip:port, comma-separated)', parseListen, parseListen(productionDefaults.listen))
    .option('--announce <addrs>', 'addresses to announce to other members instead of the listen ones', parseListen)
    .option('--dns <host:port,...>', 'DNS listen addresses (UDP and TCP), or none', parseHostPorts, parseHostPorts(productionDefaults.dns))
    .option('--json', 'print machine-readable JSON lines on stdout'))

  addNodeOptions(program.command('init-platform')
    .description('Create a new platform with this machine as its first member, print an invite, and run the node.')
    .requiredOption('--domain <domain>', 'the DNS domain the platform answers for'))
    .option('--invite-ttl <duration>', 'lifetime of the printed invite', parseDuration, 3_600_000)
    .option('--settings <file.yml>', 'the platform\'s base settings (YAML); missing secrets are generated')
    .option('--release <bundle>', 'the release the platform starts with (directory or .tgz); default: the built-in demo release')
    .addHelpText('after', '\nExample:\n  pryv-node init-platform --domain pryv.example.com --name core1 --settings base.yml')
    .action(async (o, command: Command) => {
      const release = await releaseOf(o)
      // The platform's domain is the release's `platform.domain` unless the base file says otherwise.
      const baseSettings = await readBaseSettings(o.settings, platformRelease(release), { 'platform.domain': o.domain.toLowerCase() })
      const options = nodeOptions(o, release)
      await foreground(() => initPlatform({ ...options, domain: o.domain, release, baseSettings }), async (running) => {
        const invite = await running.node.createInvite({ role: 'full', ttlMs: o.inviteTtl, uses: 1 })
        const status = running.node.status() as { platform: { id: string, domain: string } }
        if (o.json) ctx.io.out(JSON.stringify({ event: 'ready', platformId: status.platform.id, peerId: running.node.selfId, addresses: running.node.addresses(), dns: running.node.dns.bound, ...metricsEvent(running), invite: invite.invite }))
        else {
          ctx.io.out(`Platform ${status.platform.id} created for ${status.platform.domain}; this node is "${o.name}".`)
          ctx.io.out(`Invite for the next machine (full member, valid until ${invite.expiresAt}, single use):\n\n  ${invite.invite}\n`)
          ctx.io.out(`On that machine run:  pryv-node join-platform '<invite>' --name <its-name>`)
          ctx.io.out('More invites: pryv-node invite create. The node runs until SIGTERM or Ctrl-C.')
          await announceAdmin(running.node, ctx.io)
        }
      }, { dataDir: options.dataDir, options: keptFrom(o, command) })
    })

  addNodeOptions(program.command('join-platform')
    .description('Join an existing platform with an invite from one of its members, then run the node.')
    .argument('<invite>', 'the invite line printed by init-platform or invite create'))
    .addHelpText('after', '\nExample:\n  pryv-node join-platform \'pryv2.eyJw…\' --name core2')
    .action(async (invite: string, o, command: Command) => {
      await foreground(() => joinPlatform({ ...nodeOptions(o), invite }), async (running) => {
        if (o.json) ctx.io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, revision: running.node.replica.revision, dns: running.node.dns.bound, ...metricsEvent(running) }))
        else ctx.io.out(`Joined the platform as "${o.name}" (revision ${running.node.replica.revision}). The node runs until SIGTERM or Ctrl-C.`)
      }, { dataDir: ctx.globals().dataDir, options: keptFrom(o, command) })
    })

  addAdminOption(addRegisterOption(addMetricsOption(addWriterSetOptions(addSettingsOptions(program.command('start')
    .description('Run a node that was created by init-platform or join-platform (same identity, same membership).'), 'none')))))
    .option('--listen <addrs>', 'override the mesh listen addresses', parseListen)
    .option('--announce <addrs>', 'override the announced addresses', parseListen)
    .option('--dns <host:port,...>', 'override the DNS listen addresses, or none', parseHostPorts)
    .option('--peer <addrs>', 'mesh address of a running member to reach first (ip:port or multiaddr, comma-separated), when the members this node knows all moved; not kept', parsePeers)
    .option('--json', 'print machine-readable JSON lines on stdout')
    .action(async (given, command: Command) => {
      // The options kept by the last run, replaced by those given again.
      const dataDir = ctx.globals().dataDir
      const { options: kept, changes } = mergeKeptOptions(await new DataDir(dataDir).readKeptOptions(), keptFrom(given, command, true))
      const o = { ...given, ...kept }
      for (const c of changes) ctx.io.err(`note: ${flag(c.option)} ${showOption(c.to)}${c.from === undefined ? '' : ` replaces ${showOption(c.from)}`}; kept for the next start.`)
      const reused = Object.keys(kept).filter((k) => !changes.some((c) => c.option === k))
      if (reused.length > 0) ctx.io.err(`note: kept options: ${reused.map((k) => `${flag(k)} ${showOption(kept[k])}`).join(' ')}`)
      const settings = localSettings(o)
      await foreground(() => startNode({ ...adminRunOption(o.admin), dataDir, listen: o.listen, announce: o.announce, dns: o.dns, metricsListen: o.metrics, registerListen: o.register, log: createLogger(ctx.globals().logLevel), settings, writerSetPolicy: writerSetPolicy(o), peers: o.peer, ...hooks }), async (running) => {
        if (o.json) ctx.io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, revision: running.node.replica.revision, dns: running.node.dns.bound, ...metricsEvent(running) }))
        else ctx.io.out(`Node running (revision ${running.node.replica.revision}). Stop it with SIGTERM or Ctrl-C.`)
      }, { dataDir, options: kept })
    })

  addAdminOption(addMetricsOption(addSettingsOptions(program.command('dev')
    .description(`Run a single-node platform for development: data in ./${devDefaults.dataDir}, mesh on ${devDefaults.listen}, DNS on ${devDefaults.dns}; demo services run as processes.`), 'process')))
    .option('--listen <addrs>', 'mesh listen addresses', parseListen, parseListen(devDefaults.listen))
    .option('--dns <host:port,...>', 'DNS listen addresses (UDP and TCP), or none', parseHostPorts, parseHostPorts(devDefaults.dns))
    .option('--json', 'print machine-readable JSON lines on stdout')
    .action(async (o) => {
      const dataDir = program.getOptionValueSource('dataDir') === 'default' ? devDefaults.dataDir : ctx.globals().dataDir
      const log = createLogger(ctx.globals().logLevel)
      const initialised = await new DataDir(dataDir).isInitialised()
      const release = initialised ? undefined : await releaseOf({})
      const opts = { ...adminRunOption(o.admin), dataDir, name: devDefaults.name, listen: o.listen, dns: o.dns, metricsListen: o.metrics, log, settings: localSettings(o, release), ...hooks }
      await foreground(() => release ? initPlatform({ ...opts, domain: devDefaults.domain, release }) : startNode(opts), async (running) => {
        if (o.json) ctx.io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, dataDir, dns: running.node.dns.bound, ...metricsEvent(running) }))
        else {
          ctx.io.out(`Development platform ${devDefaults.domain} running from ${dataDir} (mesh ${running.node.addresses().join(', ')}, DNS ${running.node.dns.bound.join(', ') || 'none'}).`)
          ctx.io.out(`Try: PRYV_NODE_DATA_DIR=${dataDir} npx pryv-node status`)
          await announceAdmin(running.node, ctx.io)
        }
      })
    })
}

/** The options a node keeps in its data dir for the next `start` (src/node/kept-options.ts). */
const KEPT_OPTIONS = ['services', 'dockerSocket', 'metrics', 'admin', 'register', 'listen', 'announce', 'dns'] as const

/**
 * The kept options' values of a run: all of them at init and join (defaults included), only those
 * given on the command line or through the environment (DOCKER_HOST) on `start`.
 */
function keptFrom(o: Record<string, unknown>, command: Command, givenOnly = false): KeptOptions {
  const given = (key: string): boolean => !givenOnly || ['cli', 'env'].includes(command.getOptionValueSource(key) ?? '')
  const options: Record<string, unknown> = {}
  for (const key of KEPT_OPTIONS) if (o[key] !== undefined && given(key)) options[key] = o[key]
  if (options.dockerSocket === undefined && process.env.DOCKER_HOST?.startsWith('unix://')) options.dockerSocket = dockerSocketPath(process.env.DOCKER_HOST)
  return options
}

const flag = (option: string): string => `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
const showOption = (value: unknown): string => (Array.isArray(value) ? (value.length === 0 ? 'none' : value.join(',')) : String(value))

/** `DOCKER_HOST=unix:///path` or a plain socket path; other transports are not supported. */
function dockerSocketPath(value: string): string {
  if (value.startsWith('unix://')) return value.slice('unix://'.length)
  if (value.startsWith('/')) return value
  throw new OperatorError('PRYV_USAGE', `The Docker engine address "${value}" is not a Unix socket.`, {
    hint: 'Pass --docker-socket /path/to/docker.sock (or DOCKER_HOST=unix:///path/to/docker.sock); TCP engines are not supported.',
    exitCode: ExitCode.usage
  })
}
