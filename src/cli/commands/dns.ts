import type { Command } from 'commander'
import { ExitCode, OperatorError } from '../../errors.js'
import type { CliContext } from '../context.js'
import { table } from '../format.js'
import { parseDuration } from '../parse.js'

export function registerDnsCommands(program: Command, ctx: CliContext): void {
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
      const r = await ctx.control('dns.users.set', { users: assignments }) as { revision: number }
      ctx.io.out(`${pairs.length} user${pairs.length > 1 ? 's' : ''} set (revision ${r.revision}).`)
    })
  users.command('get')
    .description('Show the core of the named users (all users when none is named).')
    .argument('[username...]', 'usernames')
    .option('--consistent', 'read through the writer set: sees every write acknowledged before it (slower)')
    .option('--json', 'print JSON')
    .action(async (names: string[], o) => {
      const r = await ctx.control('dns.users.get', { usernames: names, consistent: Boolean(o.consistent) }) as { users: Record<string, string>, unknown: string[] }
      if (o.json) ctx.io.out(JSON.stringify(r))
      else {
        ctx.io.out(table(['USER', 'CORE'], Object.entries(r.users)))
        if (r.unknown.length > 0) ctx.io.out(`unknown: ${r.unknown.join(', ')}`)
      }
      if (r.unknown.length > 0) ctx.setExitCode(ExitCode.conflict)
    })
  users.command('rm')
    .description('Remove users from DNS.')
    .argument('<username...>', 'usernames')
    .action(async (names: string[]) => {
      const r = await ctx.control('dns.users.remove', { usernames: names }) as { value: { removed: number } }
      ctx.io.out(`${r.value.removed} user${r.value.removed === 1 ? '' : 's'} removed.`)
    })
  const acme = dns.command('acme').description('ACME DNS-01 challenges (TXT records with a short lifetime).')
  acme.command('set')
    .description('Publish a challenge TXT record, e.g. for _acme-challenge or _acme-challenge.reg.')
    .argument('<name>', 'record name relative to the domain, starting with _acme-challenge')
    .argument('<value>', 'the challenge token')
    .option('--ttl <duration>', 'how long the record is served', parseDuration, 600_000)
    .action(async (name: string, value: string, o) => {
      await ctx.control('acme.set', { name, value, ttlMs: o.ttl })
      ctx.io.out(`Challenge published at ${name} for ${o.ttl / 1000} s.`)
    })
  acme.command('list')
    .description('The challenges served now: name, value, expiry.')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const list = await ctx.control('acme.list') as Array<{ name: string, value: string, expiresAt: string }>
      if (o.json) ctx.io.out(JSON.stringify(list, null, 2))
      else ctx.io.out(list.length === 0 ? 'No challenges.' : table(['NAME', 'VALUE', 'EXPIRES'], list.map((c) => [c.name, c.value, c.expiresAt])))
    })
  acme.command('rm')
    .description('Remove a challenge (every value of that name when no value is given).')
    .argument('<name>', 'record name')
    .argument('[value]', 'the value to remove')
    .action(async (name: string, value: string | undefined) => {
      await ctx.control('acme.remove', { name, value })
      ctx.io.out('Challenge removed.')
    })
}
