import { execFile } from 'node:child_process'
import { existsSync, promises as fs } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import type { Command } from 'commander'
import { splitHostPort } from '../../dns/listen-address.js'
import { ExitCode, OperatorError } from '../../errors.js'
import { renderNodeUnit, UNIT_NAME } from '../../host/systemd-unit.js'
import { DataDir } from '../../node/data-dir.js'
import type { CliContext } from '../context.js'

const run = promisify(execFile)
const DEFAULT_UNIT_DIR = '/etc/systemd/system'
const BIN = resolve(import.meta.dirname, '../../../bin/pryv-node.js')
const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock'

/** `pryv-node service install|uninstall`: the node as a systemd service. */
export function registerServiceUnitCommands(program: Command, ctx: CliContext): void {
  const service = program.command('service').description('Run this node as a systemd service: install or remove its unit.')
  service.command('install')
    .description('Write a systemd unit that runs `pryv-node start` on this data dir (restarted on failure, hardened), and enable it.')
    .option('--user <user>', 'the user the node runs as (default: the owner of the data dir)')
    .option('--unit-dir <dir>', 'where to write the unit', DEFAULT_UNIT_DIR)
    .option('--dry-run', 'print the unit and where it would go; change nothing')
    .addHelpText('after', '\nThe node is started with the options kept in its data dir (those of init-platform, join-platform or the last start).\n\nExample:\n  pryv-node service install --dry-run\n  pryv-node service install && systemctl start pryv-node')
    .action(async (o: { user?: string, unitDir: string, dryRun?: boolean }) => {
      const dataDir = new DataDir(ctx.globals().dataDir)
      const config = await dataDir.readConfig()
      const kept = await dataDir.readKeptOptions()
      const user = o.user ?? await userName((await fs.stat(dataDir.path)).uid)
      const dockerSocket = typeof kept.dockerSocket === 'string' ? kept.dockerSocket : DEFAULT_DOCKER_SOCKET
      const usesEngine = kept.services === 'docker' || kept.services === 'auto'
      const groups = usesEngine && user !== 'root' ? await socketGroup(dockerSocket) : []
      const dns = (Array.isArray(kept.dns) ? kept.dns : config.dns) as string[]
      const bindsLowPorts = user !== 'root' && dns.some((a) => splitHostPort(a).port < 1024)
      const unit = renderNodeUnit({ node: process.execPath, bin: BIN, dataDir: dataDir.path, user, name: config.name, domain: config.domain, groups, bindsLowPorts })
      const path = join(o.unitDir, UNIT_NAME)
      if (o.dryRun) {
        ctx.io.out(`# ${path} (dry run: nothing written)\n${unit}`)
        return
      }
      await writeUnit(path, unit)
      if (!systemdRuns()) {
        ctx.io.out(`Wrote ${path}. systemd is not running on this machine: enable it where it runs with \`systemctl enable --now ${UNIT_NAME}\`.`)
        return
      }
      await systemctl('daemon-reload')
      await systemctl('enable', UNIT_NAME)
      ctx.io.out(`Installed and enabled ${path} (user ${user}). Stop a node running in the foreground on ${dataDir.path}, then: systemctl start pryv-node`)
    })

  service.command('uninstall')
    .description('Stop and disable the node\'s systemd service and remove its unit (the data dir stays).')
    .option('--unit-dir <dir>', 'where the unit was written', DEFAULT_UNIT_DIR)
    .option('--dry-run', 'print what would be done; change nothing')
    .action(async (o: { unitDir: string, dryRun?: boolean }) => {
      const path = join(o.unitDir, UNIT_NAME)
      if (!existsSync(path)) {
        ctx.io.out(`No unit at ${path}: nothing to remove.`)
        return
      }
      if (o.dryRun) {
        ctx.io.out(`Would ${systemdRuns() ? `stop and disable ${UNIT_NAME}, ` : ''}remove ${path} (dry run: nothing done).`)
        return
      }
      if (systemdRuns()) await systemctl('disable', '--now', UNIT_NAME)
      await fs.rm(path)
      if (systemdRuns()) await systemctl('daemon-reload')
      ctx.io.out(`Removed ${path}. The node's data dir is left as it was.`)
    })
}

/** sd_booted(3): systemd is this machine's init. */
function systemdRuns(): boolean {
  return existsSync('/run/systemd/system')
}

async function systemctl(...args: string[]): Promise<void> {
  try {
    await run('systemctl', args)
  } catch (err) {
    throw new OperatorError('PRYV_SERVICE_SYSTEMCTL_FAILED', `systemctl ${args.join(' ')} failed: ${((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`, {
      hint: 'Run as root, or run the systemctl command yourself.',
      exitCode: ExitCode.environment
    })
  }
}

async function writeUnit(path: string, unit: string): Promise<void> {
  try {
    await fs.writeFile(`${path}.tmp`, unit, { mode: 0o644 })
    await fs.rename(`${path}.tmp`, path)
  } catch (err) {
    throw new OperatorError('PRYV_SERVICE_NOT_WRITABLE', `Cannot write ${path}: ${(err as Error).message}.`, {
      hint: 'Run as root (systemd units live in /etc/systemd/system), or print the unit with --dry-run.',
      exitCode: ExitCode.environment
    })
  }
}

async function userName(uid: number): Promise<string> {
  try {
    return (await run('id', ['-nu', String(uid)])).stdout.trim()
  } catch {
    throw new OperatorError('PRYV_SERVICE_NO_USER', `The data dir's owner (uid ${uid}) has no user name.`, { hint: 'Name the user the node runs as with --user.', exitCode: ExitCode.usage })
  }
}

/** The group that owns the engine's socket (e.g. docker), when it is there and has a name. */
async function socketGroup(socket: string): Promise<string[]> {
  try {
    const gid = (await fs.stat(socket)).gid
    const line = (await run('getent', ['group', String(gid)])).stdout.trim()
    return gid === 0 || line === '' ? [] : [line.split(':')[0]!]
  } catch {
    return []
  }
}
