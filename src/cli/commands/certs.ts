import type { Command } from 'commander'
import { callControl } from '../../control/client.js'
import { DataDir } from '../../node/data-dir.js'
import type { CliContext } from '../context.js'
import { table } from '../format.js'
import { readInputFile } from '../input-file.js'

/** Obtaining a certificate waits for the ACME server and DNS propagation: longer than other calls. */
const ISSUE_TIMEOUT_MS = 300_000

interface CertsStatus {
  settings: { directoryUrl: string, email: string | null, names: string[], keyType: string, renewBeforeDays: number, automatic: boolean }
  certificate: { names: string[], issuer: string, serial: string, source: string, notBefore: string, notAfter: string, daysLeft: number, renewAt: string, installedAt: string } | null
  renewal: { holder?: { node: string, since: string, reason: string }, failures: number, orders: number, issued: number, failed: number, lastAttempt?: { at: string, by: string, ok: boolean, error?: { message: string, problem?: Record<string, unknown> } }, nextAttemptAt?: string }
  warnings: string[]
  nodes: Array<{ node: string, installed: string | null }>
}

export function registerCertsCommands(program: Command, ctx: CliContext): void {
  const certs = program.command('certs').description('The platform\'s certificate: obtained and renewed through ACME DNS-01 on its own DNS, installed on every node.')
  const issue = (force: boolean) => async (o: { json?: boolean }): Promise<void> => {
    const r = await callControl(new DataDir(ctx.globals().dataDir).controlSocket, 'certs.issue', { force }, ISSUE_TIMEOUT_MS) as { serial: string, notAfter: string, durationMs: number, propagationMs?: number }
    if (o.json) ctx.io.out(JSON.stringify(r))
    else ctx.io.out(`Certificate ${r.serial} obtained in ${(r.durationMs / 1000).toFixed(1)} s (DNS propagation ${((r.propagationMs ?? 0) / 1000).toFixed(1)} s), valid until ${r.notAfter}; every node installs it.`)
  }
  certs.command('status')
    .description('The certificate (names, issuer, validity, days left), its renewal (last attempt and its error) and which nodes installed it.')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const s = await ctx.control('certs.status') as CertsStatus
      if (o.json) ctx.io.out(JSON.stringify(s, null, 2))
      else ctx.io.out(formatCertsStatus(s))
    })
  certs.command('issue')
    .description('Obtain the certificate now (when the platform has none for its names, or it is due).')
    .option('--json', 'print JSON')
    .action(issue(false))
  certs.command('renew')
    .description('Obtain a new certificate now, even if the current one is not due.')
    .option('--json', 'print JSON')
    .action(issue(true))
  certs.command('import')
    .description('Use a certificate obtained elsewhere (bought): checked against its key, its dates and the platform\'s names, then installed on every node.')
    .argument('<cert>', 'PEM file: the certificate, then its intermediates')
    .argument('<key>', 'PEM file: its private key (unencrypted)')
    .action(async (certPath: string, keyPath: string) => {
      const [chain, key] = await Promise.all([readPem(certPath, 'certificate'), readPem(keyPath, 'key')])
      const r = await ctx.control('certs.import', { chain, key }) as { serial: string, names: string[], notAfter: string }
      ctx.io.out(`Certificate ${r.serial} for ${r.names.join(', ')} (valid until ${r.notAfter}) imported; every node installs it.`)
    })
}

function readPem(path: string, what: string): Promise<string> {
  return readInputFile(path, what, 'PRYV_FILE_UNREADABLE', 'Give the path of a PEM file this user may read.')
}

function formatCertsStatus(s: CertsStatus): string {
  const lines: string[] = []
  const c = s.certificate
  if (c) {
    lines.push(`certificate  ${c.serial} (${c.source}) for ${c.names.join(', ')}`)
    lines.push(`issuer       ${c.issuer}`)
    lines.push(`valid        ${c.notBefore} → ${c.notAfter} (${c.daysLeft} days left; renewal from ${c.renewAt})`)
  } else {
    lines.push(`certificate  none yet for ${s.settings.names.join(', ')}`)
  }
  lines.push(`acme         ${s.settings.directoryUrl}, ${s.settings.automatic ? `automatic (account e-mail ${s.settings.email})` : 'not automatic: set certs.email to issue and renew by itself'}`)
  const r = s.renewal
  if (r.holder) lines.push(`renewing     on ${r.holder.node} since ${r.holder.since} (${r.holder.reason})`)
  if (r.lastAttempt) lines.push(`last attempt ${r.lastAttempt.at} on ${r.lastAttempt.by}: ${r.lastAttempt.ok ? 'ok' : `failed: ${r.lastAttempt.error?.message ?? '?'}`}`)
  if (r.lastAttempt?.error?.problem) lines.push(`problem      ${JSON.stringify(r.lastAttempt.error.problem)}`)
  if (r.nextAttemptAt) lines.push(`next attempt ${r.nextAttemptAt} (${r.failures} failure${r.failures === 1 ? '' : 's'} in a row)`)
  lines.push(`counters     ${r.orders} orders, ${r.issued} issued, ${r.failed} failed attempts`)
  lines.push('')
  lines.push(table(['NODE', 'INSTALLED'], s.nodes.map((n) => [n.node, n.installed === null ? '-' : n.installed === c?.serial ? `${n.installed} (current)` : n.installed])))
  for (const w of s.warnings) lines.push(`warning: ${w}`)
  return lines.join('\n')
}
