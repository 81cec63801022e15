import type { Command } from 'commander'
import type { CliContext } from './context.js'

/** Adds a module's commands to the program. */
export type Register = (program: Command, ctx: CliContext) => void

/**
 * A command module, loaded only when one of its commands runs: a command that only talks to the
 * control socket never loads libp2p, LevelDB or dockerode. `commands` names the module's top-level
 * commands with the one line `pryv-node --help` lists for each.
 */
export interface CommandModule {
  readonly commands: Readonly<Record<string, string>>
  readonly load: () => Promise<Register>
  /** The module reads the whole command tree (completion scripts): every module loads with it. */
  readonly needsEveryCommand?: boolean
}

/** Global options that take a value: their value is not a command name. */
const GLOBAL_OPTIONS_WITH_VALUE = new Set(['--data-dir', '--log-level'])

/** The top-level command named on the command line (`help <command>` names its command), if any. */
export function invokedCommand(argv: readonly string[]): string | undefined {
  const words: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--') break
    if (GLOBAL_OPTIONS_WITH_VALUE.has(arg)) i++
    else if (!arg.startsWith('-')) words.push(arg)
    if (words.length === 2 || (words.length === 1 && words[0] !== 'help')) break
  }
  return words[0] === 'help' && words.length === 2 ? words[1] : words[0]
}

/**
 * Registers the module of the invoked command for real and every other command as a stub that only
 * shows in the program's help.
 */
export async function registerCommands(program: Command, ctx: CliContext, modules: readonly CommandModule[], argv: readonly string[]): Promise<void> {
  const invoked = invokedCommand(argv)
  const all = modules.some((m) => m.needsEveryCommand && invoked !== undefined && invoked in m.commands)
  for (const module of modules) {
    if (all || (invoked !== undefined && invoked in module.commands)) (await module.load())(program, ctx)
    else for (const [name, summary] of Object.entries(module.commands)) program.command(name).summary(summary)
  }
}
