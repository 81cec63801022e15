import type { Command } from 'commander'
import type { CliContext } from '../context.js'

/** Membership changes: promote/demote between full and observer, remove, and leave. */
export function registerMemberCommands(program: Command, ctx: CliContext): void {
  const members = program.command('members').description('Change the roles of the platform\'s members.')
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
