import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/** `pryv-node metrics`. (Scaffold: filled in by the metrics work.) */
export function registerMetricsCommand(_program: Command, _ctx: CliContext): void {}
