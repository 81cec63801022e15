import { Command, CommanderError, Option } from 'commander'
import { callControl } from '../control/client.js'
import { ExitCode, OperatorError } from '../errors.js'
import { createLogger } from '../log.js'
import { decodeInvite, describeInvite } from '../membership/invite.js'
import { DataDir } from '../node/data-dir.js'
import { initPlatform, joinPlatform, type RunningNode, startNode } from '../node/lifecycle.js'
import { defaultNodeName, devDefaults, productionDefaults } from './defaults.js'
import { runUntilSignalled } from './foreground.js'
import { type Io, processIo } from './io.js'
import { parseDuration, parseHostPorts, parseListen, parsePositiveInt } from './parse.js'
import { reportError } from './report.js'
import { formatInviteList, formatStatus, table } from './format.js'
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
        if (o.json) io.out(JSON.stringify({ event: 'ready', platformId: status.platform.id, peerId: running.node.selfId, addresses: running.node.addresses(), dns: running.node.dns.bound, invite: invite.invite }))
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
        if (o.json) io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, revision: running.node.replica.revision, dns: running.node.dns.bound }))
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
        if (o.json) io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, revision: running.node.replica.revision, dns: running.node.dns.bound }))
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
        if (o.json) io.out(JSON.stringify({ event: 'ready', peerId: running.node.selfId, dataDir, dns: running.node.dns.bound }))
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

  const dns = program.command('dns').description('The platform\'s DNS data: users and ACME challenges.')
  const users = dns.command('users').description('Which core hosts each user (<username>.<domain>).')
  users.command('set')
    .description('Point users at the core that hosts them.')
    .argument('<username=core...>', 'one or more assignments')
    .action(async (pairs: string[]) => {
      const assignments: Record<string, string> = {}
      for (const pair of pairs) {
        const [user, core, extra] = pair.split('=')
        if (!user || !core || extra !== undefined) throw new OperatorError('PRYV_USAGE', `"${pair}" is not username=core.`, { exitCode: ExitCode.usage })
        assignments[user] = core
      }
      const r = await control('dns.users.set', { users: assignments }) as { revision: number }
      io.out(`${pairs.length} user${pairs.length > 1 ? 's' : ''} set (revision ${r.revision}).`)
    })
  users.command('get')
    .description('Show the core of the named users (all users when none is named).')
    .argument('[username...]', 'usernames')
    .option('--json', 'print JSON')
    .action(async (names: string[], o) => {
      const r = await control('dns.users.get', { usernames: names }) as { users: Record<string, string>, unknown: string[] }
      if (o.json) io.out(JSON.stringify(r))
      else {
        io.out(table(['USER', 'CORE'], Object.entries(r.users)))
        if (r.unknown.length > 0) io.out(`unknown: ${r.unknown.join(', ')}`)
      }
      if (r.unknown.length > 0) exitCode = ExitCode.conflict
    })
  users.command('rm')
    .description('Remove users from DNS.')
    .argument('<username...>', 'usernames')
    .action(async (names: string[]) => {
      const r = await control('dns.users.remove', { usernames: names }) as { value: { removed: number } }
      io.out(`${r.value.removed} user${r.value.removed === 1 ? '' : 's'} removed.`)
    })
  const acme = dns.command('acme').description('ACME DNS-01 challenges (TXT records with a short lifetime).')
  acme.command('set')
    .description('Publish a challenge TXT record, e.g. for _acme-challenge or _acme-challenge.reg.')
    .argument('<name>', 'record name relative to the domain, starting with _acme-challenge')
    .argument('<value>', 'the challenge token')
    .option('--ttl <duration>', 'how long the record is served', parseDuration, 600_000)
    .action(async (name: string, value: string, o) => {
      await control('acme.set', { name, value, ttlMs: o.ttl })
      io.out(`Challenge published at ${name} for ${o.ttl / 1000} s.`)
    })
  acme.command('rm')
    .description('Remove a challenge (every value of that name when no value is given).')
    .argument('<name>', 'record name')
    .argument('[value]', 'the value to remove')
    .action(async (name: string, value: string | undefined) => {
      await control('acme.remove', { name, value })
      io.out('Challenge removed.')
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
