import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/** `pryv-node services`, `logs`, `restart`. (Scaffold: filled in by the services work.) */
export function registerServiceCommands(_program: Command, _ctx: CliContext): void {}
