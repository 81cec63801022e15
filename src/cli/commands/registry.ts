import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { ExitCode, OperatorError } from '../../errors.js'
import { DumpFormatError, type ImportReport, parseDump } from '../../registry/import.js'
import type { RegistryUser } from '../../state/types.js'
import type { CliContext } from '../context.js'
import { table } from '../format.js'

const USERS_PER_REQUEST = 1000

export function registerRegistryCommands(program: Command, ctx: CliContext): void {
  const registry = program.command('registry').description('The platform\'s user registry (Pryv\'s register): users, their core, their account fields.')

  registry.command('import')
    .description('Import a v1 registry: a Redis dump (<user>:server, <user>:users, <value>:<field> keys, as JSON or SET/HSET lines) or the register\'s JSON export ({"users": [...]}). Idempotent: users already there are unchanged.')
    .argument('<file>', 'the dump or export')
    .option('--core <old=node...>', 'the node that now hosts the users of a v1 server (e.g. co1.pryv.me=core1); by default the server name without .<domain>', collectPairs, {})
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExample (a dump in redis-dump\'s SET/HSET form):\n  pryv-node registry import dump.txt --core co1.pryv.me=core1 --core co2.pryv.me=core2')
    .action(async (file: string, o: { core: Record<string, string>, json?: boolean }) => {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (err) {
        throw new OperatorError('PRYV_FILE_UNREADABLE', `Cannot read ${file}: ${(err as Error).message}.`, { exitCode: ExitCode.invalidInput })
      }
      const status = await ctx.control('status') as { platform: { domain: string } }
      const domain = status.platform.domain
      const coreOf = (server: string): string => {
        const s = server.toLowerCase().replace(/^https?:\/\//, '').replace(/\/.*$/, '')
        return o.core[s] ?? (s.endsWith(`.${domain}`) ? s.slice(0, -domain.length - 1) : s)
      }
      let parsed: ReturnType<typeof parseDump>
      try {
        parsed = parseDump(text, coreOf)
      } catch (err) {
        if (err instanceof DumpFormatError) throw new OperatorError('PRYV_REGISTRY_DUMP_INVALID', `${file}: ${err.message}.`, { hint: 'Give a JSON key map, SET/HSET/HMSET lines, or {"users": [...]} as exported by the register.', exitCode: ExitCode.invalidInput })
        throw err
      }
      // In parts, so that each control request stays small; the node commits each part in batches.
      const report = { read: 0, imported: 0, unchanged: 0, refused: [] as ImportReport['refused'] }
      for (let i = 0; i < parsed.users.length; i += USERS_PER_REQUEST) {
        const part = await ctx.control('registry.import', { users: parsed.users.slice(i, i + USERS_PER_REQUEST) }) as ImportReport
        report.read += part.read
        report.imported += part.imported
        report.unchanged += part.unchanged
        report.refused.push(...part.refused)
      }
      if (o.json) ctx.io.out(JSON.stringify({ ...report, skippedKeys: parsed.skippedKeys }))
      else {
        ctx.io.out(`Read ${report.read} users: ${report.imported} imported, ${report.unchanged} already there, ${report.refused.length} refused.`)
        if (parsed.skippedKeys > 0) ctx.io.out(`${parsed.skippedKeys} keys hold no user data and were ignored.`)
        for (const r of report.refused.slice(0, 50)) ctx.io.out(`  refused ${r.username}: ${r.reason}`)
        if (report.refused.length > 50) ctx.io.out(`  … and ${report.refused.length - 50} more (--json lists them all)`)
      }
      if (report.refused.length > 0) ctx.setExitCode(ExitCode.conflict)
    })

  registry.command('users')
    .description('Show registry users (all when none is named) with their core, and the user count of each core.')
    .argument('[username...]', 'usernames')
    .option('--consistent', 'read through the writer set: sees every write acknowledged before it (slower)')
    .option('--json', 'print JSON')
    .action(async (names: string[], o: { consistent?: boolean, json?: boolean }) => {
      const r = await ctx.control('registry.users', { usernames: names, consistent: Boolean(o.consistent) }) as { users: RegistryUser[], unknown: string[], counts: Record<string, number>, orphaned?: Record<string, number> }
      const orphaned = Object.entries(r.orphaned ?? {})
      if (orphaned.length > 0) {
        ctx.io.err(`warning  users on cores that are not members of the platform: ${orphaned.map(([c, n]) => `${c}=${n}`).join(' ')}; nothing serves them`)
        ctx.io.err('  hint: move them to a member with the register API (GET /admin/servers/<old>/rename/<new>), or have the machine rejoin under the same name.')
      }
      if (o.json) ctx.io.out(JSON.stringify(r))
      else {
        ctx.io.out(table(['USER', 'CORE', 'EMAIL', 'REGISTERED'], r.users.map((u) => [u.username, u.core, String(u.fields.email ?? ''), new Date(u.registeredAt).toISOString()])))
        ctx.io.out(`users per core: ${Object.entries(r.counts).map(([c, n]) => `${c}=${n}`).join(' ') || 'none'}`)
        if (r.unknown.length > 0) ctx.io.out(`unknown: ${r.unknown.join(', ')}`)
      }
      if (r.unknown.length > 0) ctx.setExitCode(ExitCode.conflict)
    })
}

function collectPairs(value: string, previous: Record<string, string>): Record<string, string> {
  const [from, to, extra] = value.split('=')
  if (!from || !to || extra !== undefined) throw new OperatorError('PRYV_USAGE', `"${value}" is not old=node.`, { exitCode: ExitCode.usage })
  return { ...previous, [from.toLowerCase()]: to }
}
