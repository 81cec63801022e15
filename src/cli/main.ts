import { Command, CommanderError, Option } from 'commander'
import { ExitCode } from '../errors.js'
import { registerCertsCommands } from './commands/certs.js'
import { registerConfigCommands } from './commands/config.js'
import { registerDnsCommands } from './commands/dns.js'
import { registerInviteCommands } from './commands/invite.js'
import { registerMemberCommands } from './commands/members.js'
import { registerMetricsCommand } from './commands/metrics.js'
import { registerNodeCommands } from './commands/node.js'
import { registerReleaseCommands } from './commands/release.js'
import { registerReleaseOpsCommands } from './commands/release-ops.js'
import { registerServiceCommands } from './commands/services.js'
import { registerStatusCommand } from './commands/status.js'
import { createContext } from './context.js'
import { productionDefaults } from './defaults.js'
import { type Io, processIo } from './io.js'
import { reportError } from './report.js'
import { packageVersion } from './version.js'

const EXIT_CODES_HELP = `
Exit codes:
  0  success            4  conflicts with the platform's state (already initialised, invite used, name taken)
  1  internal error     5  a member or the platform cannot be reached
  2  wrong usage        6  the local node is not running
  3  invalid input      7  the environment refuses (data dir not writable, port in use, locked)
                        8  a release failed its health gate and the platform rolled back`

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
  registerNodeCommands(program, ctx)
  registerStatusCommand(program, ctx)
  registerInviteCommands(program, ctx)
  registerMemberCommands(program, ctx)
  registerDnsCommands(program, ctx)
  registerConfigCommands(program, ctx)
  registerReleaseOpsCommands(registerReleaseCommands(program, ctx), ctx)
  registerServiceCommands(program, ctx)
  registerMetricsCommand(program, ctx)
  registerCertsCommands(program, ctx)

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
