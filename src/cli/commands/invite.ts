import { type Command, Option } from 'commander'
import { decodeInvite, describeInvite } from '../../membership/invite.js'
import type { CliContext } from '../context.js'
import { formatInviteList } from '../format.js'
import { parseDuration, parsePositiveInt } from '../parse.js'

export function registerInviteCommands(program: Command, ctx: CliContext): void {
  /** What the platform of the local node knows of an invite: active, used, revoked or expired. */
  const inviteState = async (id: string): Promise<{ status: string, used?: string }> => {
    const list = await ctx.control('invite.list').catch(() => undefined) as Array<{ id: string, status: string, used: number, uses: number }> | undefined
    if (list === undefined) return { status: 'unknown (no local node to ask)' }
    const found = list.find((i) => i.id === id)
    return found ? { status: found.status, used: `${found.used} of ${found.uses}` } : { status: 'unknown (not an invite of the local node\'s platform)' }
  }
  const invite = program.command('invite').description('Create, list, revoke and inspect invites.')
  invite.command('create')
    .description('Create an invite for a new machine (printed once: keep it secret).')
    .addOption(new Option('--role <role>', 'the role the new member gets').choices(['full', 'observer']).default('full'))
    .option('--ttl <duration>', 'how long the invite stays valid (s, m, h, d)', parseDuration, 3_600_000)
    .option('--uses <n>', 'how many machines may join with it', parsePositiveInt, 1)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const created = await ctx.control('invite.create', { role: o.role, ttlMs: o.ttl, uses: o.uses }) as { invite: string, id: string, expiresAt: string }
      ctx.io.out(o.json ? JSON.stringify(created) : `Invite ${created.id} (${o.role}, ${o.uses} use${o.uses > 1 ? 's' : ''}, valid until ${created.expiresAt}):\n\n  ${created.invite}\n`)
    })
  invite.command('list')
    .description('List the platform\'s invites (never their secrets).')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const list = await ctx.control('invite.list')
      ctx.io.out(o.json ? JSON.stringify(list, null, 2) : formatInviteList(list as Parameters<typeof formatInviteList>[0]))
    })
  invite.command('revoke')
    .description('Revoke an invite so that nobody can join with it any more.')
    .argument('<id>', 'the invite id (from invite list)')
    .action(async (id: string) => {
      await ctx.control('invite.revoke', { id })
      ctx.io.out(`Invite ${id} revoked.`)
    })
  invite.command('inspect')
    .description('Show what an invite holds, except its secrets, and whether it was used or revoked (asked to the local node, when one runs). Works without a running node.')
    .argument('<invite>', 'the invite line')
    .option('--json', 'print JSON')
    .action(async (text: string, o) => {
      const invite = decodeInvite(text)
      const info = { ...describeInvite(invite, Date.now()), ...await inviteState(invite.inviteId) }
      ctx.io.out(o.json ? JSON.stringify(info, null, 2) : Object.entries(info).map(([k, v]) => `${k.padEnd(11)} ${Array.isArray(v) ? v.join('\n            ') : String(v)}`).join('\n'))
    })
}
