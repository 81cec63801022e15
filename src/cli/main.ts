import { Command, CommanderError, Option } from 'commander'
import { ExitCode } from '../errors.js'
import { createContext } from './context.js'
import { productionDefaults } from './defaults.js'
import { type Io, processIo } from './io.js'
import { type CommandModule, registerCommands } from './lazy.js'
import { describeDurationDefaults } from './parse.js'
import { reportError } from './report.js'
import { packageVersion } from '../version.js'

const EXIT_CODES_HELP = `
Exit codes:
  0  success            4  conflicts with the platform's state (already initialised, invite used, name taken)
  1  internal error     5  a member or the platform cannot be reached
  2  wrong usage        6  the local node is not running
  3  invalid input      7  the environment refuses (data dir not writable, port in use, locked)
                        8  a release failed its health gate and the platform rolled back`

/**
 * Every command module, loaded only when one of its commands runs. A new module is one line here:
 * its top-level commands with their one-line summaries, and its register function.
 */
const COMMANDS: readonly CommandModule[] = [
  { commands: { 'init-platform': 'Create a new platform with this machine as its first member, and run the node.', 'join-platform': 'Join an existing platform with an invite, then run the node.', start: 'Run a node created by init-platform or join-platform.', dev: 'Run a single-node development platform (pryv.test).' }, load: async () => (await import('./commands/node.js')).registerNodeCommands },
  { commands: { status: 'Show the platform as this node sees it: members, roles, addresses, liveness, revisions.' }, load: async () => (await import('./commands/status.js')).registerStatusCommand },
  { commands: { invite: 'Create, list, revoke and inspect invites.' }, load: async () => (await import('./commands/invite.js')).registerInviteCommands },
  { commands: { members: 'List the platform\'s members and change their roles.', leave: 'Leave the platform gracefully and stop the node.' }, load: async () => (await import('./commands/members.js')).registerMemberCommands },
  { commands: { dns: 'The platform\'s DNS data: users and ACME challenges.' }, load: async () => (await import('./commands/dns.js')).registerDnsCommands },
  { commands: { config: 'Platform settings: read, change, import/export, history and rollback.' }, load: async () => (await import('./commands/config.js')).registerConfigCommands },
  { commands: { release: 'Release bundles: verify, sign, apply, follow and roll back.' }, load: async () => {
    const [bundle, ops] = await Promise.all([import('./commands/release.js'), import('./commands/release-ops.js')])
    return (program, ctx) => ops.registerReleaseOpsCommands(bundle.registerReleaseCommands(program, ctx), ctx)
  } },
  { commands: { services: 'Every member\'s services: state, health, uptime, restarts.', logs: 'Show a service\'s logs, on any member.', restart: 'Restart a service on one member or on all.' }, load: async () => (await import('./commands/services.js')).registerServiceCommands },
  { commands: { metrics: 'Print the local node\'s metrics (Prometheus text format).' }, load: async () => (await import('./commands/metrics.js')).registerMetricsCommand },
  { commands: { mesh: 'The platform\'s private mesh: rotate its key.' }, load: async () => (await import('./commands/mesh.js')).registerMeshCommands },
  { commands: { registry: 'Pryv\'s user registry: users, their cores, and imports from a v1 registry.' }, load: async () => (await import('./commands/registry.js')).registerRegistryCommands },
  { commands: { backup: 'Back up the platform\'s state to one file, or verify a backup.', restore: 'Found a platform again from a backup (disaster recovery).' }, load: async () => (await import('./commands/backup.js')).registerBackupCommands },
  { commands: { admin: 'Admin accounts, API tokens, one-time login links and the audit trail of the admin app.' }, load: async () => (await import('./commands/admin.js')).registerAdminCommands },
  { commands: { certs: 'The platform\'s TLS certificate: status, issue, renew, import (ACME DNS-01 on its own DNS).' }, load: async () => (await import('./commands/certs.js')).registerCertsCommands },
  { commands: { service: 'Run this node as a systemd service: install or remove its unit.' }, load: async () => (await import('./commands/service.js')).registerServiceUnitCommands },
  { commands: { doctor: 'Check this machine for running a node: ports, disk, limits, engine, members\' clocks.' }, load: async () => (await import('./commands/doctor.js')).registerDoctorCommand },
  { commands: { completion: 'Print a shell completion script for bash or zsh.' }, load: async () => (await import('./commands/completion.js')).registerCompletionCommand, needsEveryCommand: true }
]

/** Runs the CLI and returns the process exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let exitCode: number = ExitCode.ok
  const program = new Command('pryv-node')
    .description('Run a machine of a Pryv.io platform: mesh, replicated state, DNS, settings and services.')
    .version(packageVersion())
    .addOption(new Option('--data-dir <dir>', 'the node\'s data dir').env('PRYV_NODE_DATA_DIR').default(productionDefaults.dataDir))
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['debug', 'info', 'warn', 'error', 'silent']).env('PRYV_LOG_LEVEL').default('info'))
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })

  const ctx = createContext(program, io, (code) => { exitCode = code })
  await registerCommands(program, ctx, COMMANDS, argv)
  describeDurationDefaults(program)

  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    return reportError(err, io, argv.includes('--json'))
  }
  return exitCode
}
