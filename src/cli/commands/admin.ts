import { Argument, type Command, Option } from 'commander'
import { type AdminAddress, DEFAULT_ADMIN_LISTEN, parseAdminListen, probeAdminAddress } from '../../admin/listen.js'
import { ExitCode, OperatorError } from '../../errors.js'
import type { PlatformNode } from '../../node/platform-node.js'
import type { CliContext } from '../context.js'
import type { Io } from '../io.js'
import { table } from '../format.js'
import { parseDuration } from '../parse.js'

const ROLES = ['viewer', 'operator', 'owner']

/** `--admin` on the commands that run a node. */
export function addAdminOption(cmd: Command): Command {
  return cmd.option('--admin <host:port>', `serve the admin app and API here (loopback: HTTP; any other address: HTTPS only), or none; default ${DEFAULT_ADMIN_LISTEN}`)
    .hook('preAction', async (command) => {
      // An explicit address is checked before anything starts (exit 2 malformed, 7 in use).
      const value = command.opts<{ admin?: string }>().admin
      const address = value === undefined ? undefined : parseAdminListen(value)
      if (address) await probeAdminAddress(address)
    })
}

/** The node's admin option from `--admin` (absent: the default address, where a port in use is only a warning). */
export function adminRunOption(value: string | undefined): { admin?: { address: AdminAddress, explicit: boolean } } {
  const address = parseAdminListen(value ?? DEFAULT_ADMIN_LISTEN)
  return address ? { admin: { address, explicit: value !== undefined } } : {}
}

/** `pryv-node admin …`: accounts, tokens, login links and the audit trail of the admin app and API. */
export function registerAdminCommands(program: Command, ctx: CliContext): void {
  const admin = program.command('admin').description('Admin app and API: login links, admin accounts, API tokens, audit trail.')
  admin.command('login-link')
    .description('Print a one-time login URL for the admin app (valid 15 minutes); the account is created as an owner if it does not exist.')
    .option('--account <name>', 'the admin account to log in as', 'admin')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const link = await ctx.control('admin.login-link', { account: o.account }) as { url: string, account: string, expiresAt: string }
      ctx.io.out(o.json ? JSON.stringify(link) : `Open this URL to log in as "${link.account}" (once, until ${link.expiresAt}):\n\n  ${link.url}\n`)
    })

  const users = admin.command('users').description('Admin accounts (roles: viewer, operator, owner).')
  users.command('list').description('List the admin accounts.').option('--json', 'print JSON').action(async (o) => {
    const list = await ctx.control('admin.users.list') as { name: string, role: string, password: boolean, createdAt: string }[]
    ctx.io.out(o.json ? JSON.stringify(list, null, 2) : table(['NAME', 'ROLE', 'PASSWORD', 'CREATED'], list.map((u) => [u.name, u.role, u.password ? 'set' : 'not yet', u.createdAt])))
  })
  users.command('add')
    .description('Create an account; its password is read from stdin with --password-stdin, else generated and printed once.')
    .argument('<name>', 'account name')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).default('viewer'))
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, o) => {
      const password = o.passwordStdin ? await readStdin() : undefined
      const out = await ctx.control('admin.users.add', { name, role: o.role, ...(password !== undefined ? { password } : {}) }) as { password?: string }
      ctx.io.out(`Account "${name}" created (${o.role}).${out.password ? `\nIts password (shown once): ${out.password}` : ''}`)
    })
  users.command('passwd')
    .description('Set an account\'s password (ends its sessions on every node); read from stdin with --password-stdin, else generated and printed once.')
    .argument('<name>', 'account name')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, o) => {
      const password = o.passwordStdin ? await readStdin() : undefined
      const out = await ctx.control('admin.users.set', { name, ...(password !== undefined ? { password } : {}) }) as { password?: string }
      ctx.io.out(`Password of "${name}" changed; its sessions have ended.${out.password ? `\nNew password (shown once): ${out.password}` : ''}`)
    })
  users.command('role')
    .description('Change an account\'s role.')
    .argument('<name>', 'account name')
    .addArgument(new Argument('<role>', 'viewer, operator or owner').choices(ROLES))
    .action(async (name: string, role: string) => {
      await ctx.control('admin.users.set', { name, role })
      ctx.io.out(`"${name}" is now ${role}.`)
    })
  users.command('rm')
    .description('Remove an account (its sessions end on every node).')
    .argument('<name>', 'account name')
    .action(async (name: string) => {
      await ctx.control('admin.users.remove', { name })
      ctx.io.out(`Account "${name}" removed.`)
    })

  const tokens = admin.command('tokens').description('API tokens for automation (sent as Authorization: Bearer).')
  tokens.command('create')
    .description('Create a token (printed once; only its hash is kept).')
    .addOption(new Option('--role <role>', 'what it may do').choices(ROLES).default('viewer'))
    .option('--ttl <duration>', 'how long it stays valid (s, m, h, d)', parseDuration, 30 * 86_400_000)
    .option('--label <text>', 'what it is for')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const out = await ctx.control('admin.tokens.create', { role: o.role, ttlMs: o.ttl, label: o.label }) as { id: string, token: string, expiresAt: string }
      ctx.io.out(o.json ? JSON.stringify(out) : `Token ${out.id} (${o.role}, valid until ${out.expiresAt}), shown once:\n\n  ${out.token}\n`)
    })
  tokens.command('list').description('List the tokens (never their secrets).').option('--json', 'print JSON').action(async (o) => {
    const list = await ctx.control('admin.tokens.list') as { id: string, label: string, role: string, status: string, expiresAt: string, createdBy: string }[]
    ctx.io.out(o.json ? JSON.stringify(list, null, 2) : table(['ID', 'ROLE', 'STATUS', 'EXPIRES', 'BY', 'LABEL'], list.map((t) => [t.id, t.role, t.status, t.expiresAt, t.createdBy, t.label])))
  })
  tokens.command('revoke').description('Revoke a token on every node.').argument('<id>', 'the token id').action(async (id: string) => {
    await ctx.control('admin.tokens.revoke', { id })
    ctx.io.out(`Token ${id} revoked.`)
  })

  admin.command('audit')
    .description('Show who changed what, through which node (newest last).')
    .option('--limit <n>', 'how many records', '50')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const list = await ctx.control('admin.audit', { limit: Number(o.limit) }) as { revision: number, at: string, actor: string, node: string, kind: string, summary: string }[]
      ctx.io.out(o.json ? JSON.stringify(list, null, 2) : table(['REV', 'TIME', 'WHO', 'NODE', 'CHANGE'], list.map((r) => [String(r.revision), r.at, r.actor, r.node, `${r.kind}: ${r.summary}`])))
    })
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '')
  if (text === '') throw new OperatorError('PRYV_USAGE', 'No password on stdin.', { hint: 'Pipe it in: printf %s "$PASSWORD" | pryv-node admin users add NAME --password-stdin', exitCode: ExitCode.usage })
  return text
}

/** Prints where the admin app is served, with a one-time login link (and the certificate's fingerprint over HTTPS). */
export async function announceAdmin(node: PlatformNode, io: Io): Promise<void> {
  const status = node.admin.status()
  if (!status) return
  const link = await node.admin.accounts.createLoginLink('admin')
  io.out(`Admin app: ${status.url}${status.certificate ? ` (${status.certificate.source} certificate SHA-256 ${status.certificate.fingerprint})` : ''}`)
  io.out(`Log in once with (valid until ${link.expiresAt}): ${link.url}`)
}
