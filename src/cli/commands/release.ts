import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/** `pryv-node release …`: returns the `release` command so that other modules may add subcommands. */
export function registerReleaseCommands(program: Command, _ctx: CliContext): Command {
  return program.command('release').description('Release bundles: verify, apply, follow and roll back.')
}
