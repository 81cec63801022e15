import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/** `release apply|status|rollback`: the operations that go through the platform's log. */
export function registerReleaseOpsCommands(_release: Command, _ctx: CliContext): void {}
