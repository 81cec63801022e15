import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { table } from '../format.js'

interface MemberRow { name: string, role: string, writer: boolean, self: boolean, alive: boolean, revision: number | null, version: string | null, clockOffsetMs: number | null }

/** Membership changes: promote/demote between full and observer, remove, and leave. */
export function registerMemberCommands(program: Command, ctx: CliContext): void {
  const members = program.command('members').description('List the platform\'s members and change their roles.')
  members.command('list')
    .description('Every member: role, writer set, liveness, applied revision, pryv-node version, clock offset.')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const { members: list } = await ctx.control('status') as { members: MemberRow[] }
      if (o.json) {
        ctx.io.out(JSON.stringify(list, null, 2))
        return
      }
      const clock = (ms: number | null): string => (ms === null ? '?' : `${ms >= 0 ? '+' : ''}${ms} ms`)
      ctx.io.out(table(['NAME', 'ROLE', 'WRITER', 'STATE', 'REVISION', 'VERSION', 'CLOCK'], list.map((m) => [
        `${m.name}${m.self ? ' *' : ''}`, m.role, m.writer ? 'yes' : 'no', m.alive ? 'up' : 'down', String(m.revision ?? '?'), m.version ?? '?', m.self ? '-' : clock(m.clockOffsetMs)
      ])))
    })
  members.command('promote')
    .description('Make an observer a full member: it joins the writer set as a learner and may become a voter.')
    .argument('<node>', 'the member\'s name')
    .action(async (name: string) => {
      const r = await ctx.control('members.role', { name, role: 'full' }) as { revision: number }
      ctx.io.out(`${name} is now a full member (revision ${r.revision}).`)
    })
  members.command('demote')
    .description('Make a full member an observer: it leaves the writer set and only reads the log.')
    .argument('<node>', 'the member\'s name')
    .action(async (name: string) => {
      const r = await ctx.control('members.role', { name, role: 'observer' }) as { revision: number }
      ctx.io.out(`${name} is now an observer (revision ${r.revision}).`)
    })
  members.command('remove')
    .description('Remove a member (for a machine that is gone for good; a running machine should use `leave`).')
    .argument('<node>', 'the member\'s name')
    .action(async (name: string) => {
      const r = await ctx.control('members.remove', { name }) as { revision: number }
      ctx.io.out(`${name} removed from the platform (revision ${r.revision}).`)
    })

  program.command('leave')
    .description('Leave the platform gracefully: hand over leadership, remove this member, stop the node.')
    .action(async () => {
      const r = await ctx.control('leave') as { revision: number }
      ctx.io.out(`This node left the platform (revision ${r.revision}); it stops now. Its data dir can be removed.`)
    })
}
