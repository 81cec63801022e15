import { promises as fs } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { Command } from 'commander'
import { backupFileExists, type BackupHeader, decryptBackup, readBackup } from '../../backup/format.js'
import { readBackupKey, writeNewBackupKey } from '../../backup/key.js'
import type { BackupWritten } from '../../backup/write.js'
import { ExitCode, OperatorError } from '../../errors.js'
import type { CliContext } from '../context.js'
import { defaultNodeName, productionDefaults } from '../defaults.js'
import { type ForegroundExit, runUntilSignalled } from '../foreground.js'
import { parseHostPorts, parseListen } from '../parse.js'

/** `pryv-node backup <file>`, `backup verify`, `backup keygen` and `restore <file>`. */
export function registerBackupCommands(program: Command, ctx: CliContext): void {
  const backup = program.command('backup')
    .description('Write an online, consistent backup of the platform\'s state (one revision), encrypted with your backup key.')
    .argument('<file>', 'the backup file to write (refused if it exists)')
    .option('--key-file <file>', 'the backup key (default: the PRYV_BACKUP_KEY variable); keep it away from the backups')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  pryv-node backup keygen /root/pryv-backup.key   # once; keep a copy off the machine\n  pryv-node backup /backups/pryv-$(date +%F).pnb --key-file /root/pryv-backup.key')
    .action(async (file: string, o: { keyFile?: string, json?: boolean }) => {
      const key = await readBackupKey(o.keyFile, process.env)
      const path = resolve(file)
      if (o.keyFile !== undefined && dirname(resolve(o.keyFile)) === dirname(path)) {
        throw new OperatorError('PRYV_BACKUP_KEY_BESIDE', 'The backup key is in the directory the backup goes to: whoever gets the backup would get its key too.', {
          hint: 'Keep the key file elsewhere (another directory or machine), or pass the key in PRYV_BACKUP_KEY.',
          exitCode: ExitCode.usage
        })
      }
      // Checked before the node works on a backup: a backup never replaces another.
      if (await fs.access(path).then(() => true, () => false)) throw backupFileExists(path)
      // The node writes the file (the key goes over the owner-only control socket, and is never logged).
      const r = await ctx.control('backup.write', { file: path, key }) as BackupWritten
      const summary = { file: path, platformId: r.platformId, domain: r.domain, revision: r.revision, bytes: r.bytes }
      ctx.io.out(o.json ? JSON.stringify(summary) : `Backup of ${r.domain} (platform ${r.platformId}) at revision ${r.revision} written to ${path} (${r.bytes} bytes).`)
    })

  backup.command('verify')
    .description('Check a backup without a platform: its format and checksum, and with the key, its content.')
    .argument('<file>', 'the backup file')
    .option('--key-file <file>', 'the backup key (default: PRYV_BACKUP_KEY); without one, only the checksum is checked')
    .option('--json', 'print JSON')
    .action(async (file: string, _o: unknown, command: Command) => {
      // `backup` itself has the same options: commander hands them to it, so read both levels.
      const o = command.optsWithGlobals<{ keyFile?: string, json?: boolean }>()
      const { header, payload } = readBackup(await readFile(file), file)
      const hasKey = o.keyFile !== undefined || process.env.PRYV_BACKUP_KEY !== undefined
      let records: number | undefined
      if (hasKey) records = (await openContent(header, payload, await readBackupKey(o.keyFile, process.env))).records
      if (o.json) ctx.io.out(JSON.stringify({ ok: true, ...describe(header), contentChecked: hasKey, records: records ?? null }))
      else {
        ctx.io.out(summaryLines(header).join('\n'))
        ctx.io.out(hasKey ? `OK: checksum, key and content (${records} records) verified.` : 'OK: checksum verified (pass --key-file to check the content too).')
      }
    })

  backup.command('keygen')
    .description('Create a new random backup key in a file readable only by you.')
    .argument('<file>', 'where to write the key (refused if it exists)')
    .action(async (file: string) => {
      await writeNewBackupKey(file)
      ctx.io.out(`Backup key written to ${resolve(file)}. Keep a copy off this machine: without it, no backup can be restored.`)
    })

  program.command('restore')
    .description('Found a platform from a backup on a fresh data dir (disaster recovery): same platform, domain, settings and data; this node is its writer set; prints an invite; runs the node.')
    .argument('<file>', 'the backup file')
    .option('--key-file <file>', 'the backup key (default: the PRYV_BACKUP_KEY variable)')
    .option('--name <name>', 'this node\'s name', defaultNodeName())
    .option('--listen <addrs>', 'mesh listen addresses (multiaddrs or ip:port, comma-separated)', parseListen, parseListen(productionDefaults.listen))
    .option('--announce <addrs>', 'addresses to announce to other members instead of the listen ones', parseListen)
    .option('--dns <host:port,...>', 'DNS listen addresses (UDP and TCP), or none', parseHostPorts, parseHostPorts(productionDefaults.dns))
    .option('--force', 'replace the platform that lives in the data dir (it is lost)')
    .option('--json', 'print machine-readable JSON lines on stdout')
    .addHelpText('after', '\nExample:\n  pryv-node restore /backups/pryv-2026-12-01.pnb --key-file /root/pryv-backup.key --name core1')
    .action(async (file: string, o: { keyFile?: string, name: string, listen: string[], announce?: string[], dns: string[], force?: boolean, json?: boolean }) => {
      // The node's code loads for restore only (`backup` and `backup verify` start without it), while the backup is read.
      const nodeCode = Promise.all([import('../../node/restore.js'), import('../../node/lifecycle.js'), import('../../log.js')])
      const { header, payload } = readBackup(await readFile(file), file)
      // What is about to be restored, first: an old backup shows as such.
      if (o.json) ctx.io.out(JSON.stringify({ event: 'backup', ...describe(header) }))
      else ctx.io.out(summaryLines(header).join('\n'))
      const content = decryptBackup(header, payload, await readBackupKey(o.keyFile, process.env))
      const [{ restoreDataDir }, { startNode }, { createLogger }] = await nodeCode
      const restored = await restoreDataDir(header, content, { dataDir: ctx.globals().dataDir, name: o.name, listen: o.listen, announce: o.announce, dns: o.dns, force: o.force === true })
      const exit: ForegroundExit = {}
      const running = await startNode({
        dataDir: ctx.globals().dataDir,
        log: createLogger(ctx.globals().logLevel),
        onLeft: () => exit.end?.(0),
        onFatal: (err) => {
          ctx.io.err(`error PRYV_NODE_FATAL: the node stopped: ${(err as Error)?.message ?? String(err)}`)
          exit.end?.(70)
        }
      })
      const invite = await running.node.createInvite({ role: 'full', ttlMs: 3_600_000, uses: 1 })
      if (o.json) ctx.io.out(JSON.stringify({ event: 'ready', platformId: header.platformId, peerId: restored.peerId, revision: running.node.replica.revision, gone: restored.gone, addresses: running.node.addresses(), dns: running.node.dns.bound, invite: invite.invite }))
      else {
        ctx.io.out(`Platform ${header.platformId} restored on this node ("${o.name}"), its only writer; revision ${running.node.replica.revision}.`)
        if (restored.gone.length > 0) ctx.io.out(`Old members, kept as observers until removed (pryv-node members remove <name>) or replaced: ${restored.gone.join(', ')}.`)
        ctx.io.out(`Invite for the next machine (full member, valid until ${invite.expiresAt}, single use):\n\n  ${invite.invite}\n`)
        ctx.io.out('Later runs: pryv-node start. The node runs until SIGTERM or Ctrl-C.')
      }
      ctx.setExitCode(await runUntilSignalled(running, ctx.io, exit))
    })
}

async function readFile(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file)
  } catch (err) {
    throw new OperatorError('PRYV_BACKUP_UNREADABLE', `Cannot read ${file}: ${(err as Error).message}.`, { hint: 'Check the path and its permissions.', exitCode: ExitCode.usage })
  }
}

async function openContent(header: BackupHeader, payload: Buffer, key: string): Promise<{ records: number }> {
  const content = decryptBackup(header, payload, key)
  const { decodeSnapshot, SnapshotError } = await import('../../state/snapshot.js')
  try {
    return { records: decodeSnapshot(content.snapshot).records.length }
  } catch (err) {
    if (!(err instanceof SnapshotError)) throw err
    throw new OperatorError('PRYV_BACKUP_CORRUPT', `The backup's state cannot be read: ${err.message}.`, { hint: 'Use another copy of the backup.', exitCode: ExitCode.usage })
  }
}

function describe(h: BackupHeader): Record<string, unknown> {
  return { platformId: h.platformId, domain: h.domain, revision: h.revision, createdAt: h.createdAt, node: h.node, pryvNodeVersion: h.pryvNodeVersion }
}

function summaryLines(h: BackupHeader): string[] {
  const days = Math.floor((Date.now() - Date.parse(h.createdAt)) / 86_400_000)
  return [
    `Backup of ${h.domain} (platform ${h.platformId}) at revision ${h.revision},`,
    `made ${h.createdAt}${days > 0 ? ` (${days} day${days === 1 ? '' : 's'} ago)` : ''} on node ${h.node} by pryv-node ${h.pryvNodeVersion}.`
  ]
}
