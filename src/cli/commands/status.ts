import type { Command } from 'commander'
import type { CliContext } from '../context.js'
import { formatStatus } from '../format.js'

export function registerStatusCommand(program: Command, ctx: CliContext): void {
  program.command('status')
    .description('Show the platform as this node sees it: members, roles, addresses, liveness, revisions.')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const status = await ctx.control('status')
      ctx.io.out(o.json ? JSON.stringify(status, null, 2) : formatStatus(status as Parameters<typeof formatStatus>[0]))
      // The platform certificate (src/certs): an expiry closer than 7 days, a failing renewal.
      if (!o.json) {
        const admin = (status as { admin?: AdminStatus | null }).admin
        if (admin) ctx.io.out(`admin app: ${admin.url}${admin.certificate ? ` (${describeCertificate(admin.certificate)})` : ''}`)
      }
      if (!o.json) for (const w of (status as { certs?: { warnings?: string[] } }).certs?.warnings ?? []) ctx.io.out(`warning: ${w}`)
      const reach = (status as { reach?: { connected: number, of: number, stranded: boolean } }).reach
      if (!o.json && reach?.stranded) ctx.io.out(`warning: no member answers at the addresses this node knows (0 of ${reach.of}): if they moved, restart this node with --peer <host:port> of a member that runs`)
    })
}

interface AdminStatus {
  readonly url: string
  readonly certificate?: { readonly source: string, readonly subject: string, readonly notAfter: string, readonly fingerprint: string }
}

/** Which certificate the admin app serves beyond loopback: the platform's or the node's self-signed one. */
function describeCertificate(c: NonNullable<AdminStatus['certificate']>): string {
  return `${c.source} certificate ${c.subject}, valid until ${c.notAfter}, SHA-256 ${c.fingerprint}`
}
