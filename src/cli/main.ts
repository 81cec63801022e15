import { Command, CommanderError, Option } from 'commander'
import { callControl } from '../control/client.js'
import { ExitCode } from '../errors.js'
import { createLogger } from '../log.js'
import { decodeInvite, describeInvite } from '../membership/invite.js'
import { DataDir } from '../node/data-dir.js'
import { initPlatform, joinPlatform, type RunningNode, startNode } from '../node/lifecycle.js'
import { defaultNodeName, devDefaults, productionDefaults } from './defaults.js'
import { runUntilSignalled } from './foreground.js'
import { type Io, processIo } from './io.js'
import { parseDuration, parseHostPorts, parseListen, parsePositiveInt } from './parse.js'
import { reportError } from './report.js'
import { formatInviteList, formatStatus } from './format.js'
import { packageVersion } from './version.js'

const EXIT_CODES_HELP = `
Exit codes:
  0  success            4  conflicts with the platform's state (already initialised, invite used, name taken)
  1  internal error     5  a member or the platform cannot be reached
  2  wrong usage        6  the local node is not running
  3  invalid input      7  the environment refuses (data dir not writable, port in use, locked)`

interface GlobalOpts { dataDir: string, json?: boolean, logLevel: string }

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let exitCode: number = ExitCode.ok
  let json = argv.includes('--json')
  const program = new Command('pryv-node')
    .description('Run a machine of a Pryv.io platform: mesh, replicated state, DNS, settings and services.')
    .version(packageVersion())
    .addOption(new Option('--data-dir <dir>', 'the node\'s data dir').env('PRYV_NODE_DATA_DIR').default(productionDefaults.dataDir))
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['debug', 'info', 'warn', 'error', 'silent']).env('PRYV_LOG_LEVEL').default('info'))
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })

  const globals = (): GlobalOpts => program.opts<GlobalOpts>()
  const foreground = async (start: () => Promise<RunningNode>, announce: (r: RunningNode) => Promise<void>): Promise<void> => {
    const running = await start()
    await announce(running)
    exitCode = await runUntilSignalled(running, io)
  }
  const control = (method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
    callControl(new DataDir(globals().dataDir).controlSocket, method, params)
  const nodeOptions = (o: { name: string, listen: string[], announce?: string[], dns: string[] }) => ({
    dataDir: globals().dataDir,
    name: o.name,
    listen: o.listen,
    announce: o.announce,
    dns: o.dns,
    log: createLogger(globals().logLevel)
  })
  const addNodeOptions = (cmd: Command): Command => cmd
    .option('--name <name>', 'this node\'s name, a DNS label (<name>.<domain>)', defaultNodeName())
    .option('--listen <addrs>', 'mesh listen addresses (multiaddrs or ip:port, comma-separated)', parseListen, parseListen(productionDefaults.listen))
    .option('--announce <addrs>', 'addresses to announce to other members instead of the listen ones', parseListen)
    .option('--dns <host:port,...>', 'DNS listen addresses (UDP and TCP), or none', parseHostPorts, parseHostPorts(productionDefaults.dns))
    .option('--json', 'print machine-readable JSON lines on stdout')

  addNodeOptions(program.command('init-platform')
    .description('Create a new platform with this machine as its first member, print an invite, and run the node.')
    .requiredOption('--domain <domain>', 'the DNS domain the platform answers for'))
    .option('--invite-ttl <duration>', 'lifetime of the printed invite', parseDuration, 3_600_000)
    .addHelpText('after', '\nExample:\n  pryv-node init-platform --domain pryv.example.com --name core1')
    .action(async (o) => {
      await foreground(() => initPlatform({ ...nodeOptions(o), domain: o.domain }), async (running) => {
        const invite = await running.node.createInvite({ role: 'full', ttlMs: o.inviteTtl, uses: 1 })
        const status = running.node.status() as { platform: { id: string, domain: string } }
        if (o.json) io.out(JSON.stringify({ event: 'ready', platformId: status.platform.id, peerId: running.node.selfId, addresses: running.node.addresses(), invite: invite.invite }))
        else {
          io.out(`Platform ${status.platform.id} created for ${status.platform.domain}; this node is "${o.name}".`)
          io.out(`Invite for the next machine (full member, valid until ${invite.expiresAt}, single use):\n\n  ${invite.invite}\n`)
          io.out(`On that machine run:  pryv-node join-platform '<invite>' --name <its-name>`)
          io.out('More invites: pryv-node invite create. The node runs until SIGTERM or Ctrl-C.')
        }
      })
    })

  addNodeOptions(program.command('join-platform')
    .description('Join an existing platform with an invite from one of its members, then run the node.')
    .argument('<invite>', 'the invite line printed by init-platform or invite create'))
    .addHelpText('after', '\nExample:\n  pryv-node join-platform \'pryv1.eyJw…\' --name core2')
    .action(async (invite: string, o) => {
      await foreground(() => joinPlatform({ ...nodeOptions(o), invite }), async (running) => {
        if (o.json) io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, revision: running.node.replica.revision }))
        else io.out(`Joined the platform as "${o.name}" (revision ${running.node.replica.revision}). The node runs until SIGTERM or Ctrl-C.`)
      })
    })

  program.command('start')
    .description('Run a node that was created by init-platform or join-platform (same identity, same membership).')
    .option('--listen <addrs>', 'override the mesh listen addresses', parseListen)
    .option('--announce <addrs>', 'override the announced addresses', parseListen)
    .option('--dns <host:port,...>', 'override the DNS listen addresses, or none', parseHostPorts)
    .option('--json', 'print machine-readable JSON lines on stdout')
    .action(async (o) => {
      await foreground(() => startNode({ dataDir: globals().dataDir, listen: o.listen, announce: o.announce, dns: o.dns, log: createLogger(globals().logLevel) }), async (running) => {
        if (o.json) io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, revision: running.node.replica.revision }))
        else io.out(`Node running (revision ${running.node.replica.revision}). Stop it with SIGTERM or Ctrl-C.`)
      })
    })

  program.command('dev')
    .description(`Run a single-node platform for development: data in ./${devDefaults.dataDir}, mesh on ${devDefaults.listen}, DNS on ${devDefaults.dns}.`)
    .option('--json', 'print machine-readable JSON lines on stdout')
    .action(async (o) => {
      const dataDir = program.getOptionValueSource('dataDir') === 'default' ? devDefaults.dataDir : globals().dataDir
      const log = createLogger(globals().logLevel)
      const opts = { dataDir, name: devDefaults.name, listen: parseListen(devDefaults.listen), dns: parseHostPorts(devDefaults.dns), log }
      const initialised = await new DataDir(dataDir).isInitialised()
      await foreground(() => initialised ? startNode(opts) : initPlatform({ ...opts, domain: devDefaults.domain }), async (running) => {
        if (o.json) io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, dataDir }))
        else {
          io.out(`Development platform ${devDefaults.domain} running from ./${dataDir} (mesh ${devDefaults.listen}, DNS ${devDefaults.dns}).`)
          io.out(`Try: PRYV_NODE_DATA_DIR=${dataDir} npx pryv-node status`)
        }
      })
    })

  program.command('status')
    .description('Show the platform as this node sees it: members, roles, addresses, liveness, revisions.')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const status = await control('status')
      io.out(o.json ? JSON.stringify(status, null, 2) : formatStatus(status as Parameters<typeof formatStatus>[0]))
    })

  const invite = program.command('invite').description('Create, list, revoke and inspect invites.')
  invite.command('create')
    .description('Create an invite for a new machine (printed once: keep it secret).')
    .addOption(new Option('--role <role>', 'the role the new member gets').choices(['full', 'observer']).default('full'))
    .option('--ttl <duration>', 'how long the invite stays valid (s, m, h, d)', parseDuration, 3_600_000)
    .option('--uses <n>', 'how many machines may join with it', parsePositiveInt, 1)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const created = await control('invite.create', { role: o.role, ttlMs: o.ttl, uses: o.uses }) as { invite: string, id: string, expiresAt: string }
      io.out(o.json ? JSON.stringify(created) : `Invite ${created.id} (${o.role}, ${o.uses} use${o.uses > 1 ? 's' : ''}, valid until ${created.expiresAt}):\n\n  ${created.invite}\n`)
    })
  invite.command('list')
    .description('List the platform\'s invites (never their secrets).')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const list = await control('invite.list')
      io.out(o.json ? JSON.stringify(list, null, 2) : formatInviteList(list as Parameters<typeof formatInviteList>[0]))
    })
  invite.command('revoke')
    .description('Revoke an invite so that nobody can join with it any more.')
    .argument('<id>', 'the invite id (from invite list)')
    .action(async (id: string) => {
      await control('invite.revoke', { id })
      io.out(`Invite ${id} revoked.`)
    })
  invite.command('inspect')
    .description('Show what an invite holds, except its secrets. Works without a running node.')
    .argument('<invite>', 'the invite line')
    .option('--json', 'print JSON')
    .action((text: string, o) => {
      const info = describeInvite(decodeInvite(text), Date.now())
      io.out(o.json ? JSON.stringify(info, null, 2) : Object.entries(info).map(([k, v]) => `${k.padEnd(11)} ${Array.isArray(v) ? v.join('\n            ') : String(v)}`).join('\n'))
    })

  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    json = json || Boolean(globals().json)
    return reportError(err, io, json)
  }
  return exitCode
}
