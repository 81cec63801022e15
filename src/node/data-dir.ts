import { constants, promises as fs } from 'node:fs'
import { join, resolve } from 'node:path'
import type { PrivateKey } from '@libp2p/interface'
import { ExitCode, OperatorError } from '../errors.js'
import type { KeptOptions } from './kept-options.js'

/** What a node needs to start again after a restart, written once at init or join. Secret (0600). */
export interface NodeConfig {
  readonly platformId: string
  readonly domain: string
  readonly platformKeyHex: string
  /** Other platform keys accepted on inbound connections: during a key rotation only. Secret. */
  readonly acceptedKeysHex?: readonly string[]
  readonly name: string
  readonly listen: readonly string[]
  readonly announce?: readonly string[]
  /** host:port pairs the DNS server listens on (UDP and TCP). Empty: no DNS server. */
  readonly dns: readonly string[]
}

/**
 * The files of a node's data dir:
 *   node.json      NodeConfig (0600: it holds the platform key)
 *   identity.key   the node's Ed25519 identity (0600)
 *   state/         LevelDB: the platform log and the state applied from it
 *   control.sock   the local control channel (0600): local root is the admin
 *   node.lock      the pid of the node running on this data dir
 *   options.json   the options the node was last run with (kept-options.ts), reused by `start`
 */
export class DataDir {
  readonly path: string

  constructor(path: string) {
    this.path = resolve(path)
  }

  get configFile(): string { return join(this.path, 'node.json') }
  get identityFile(): string { return join(this.path, 'identity.key') }
  get stateDir(): string { return join(this.path, 'state') }
  get controlSocket(): string { return join(this.path, 'control.sock') }
  get lockFile(): string { return join(this.path, 'node.lock') }
  get servicesDir(): string { return join(this.path, 'services') }
  /** Written once this node is no longer a member (it left, or was removed): it must not run as one again. */
  get leftFile(): string { return join(this.path, 'left.json') }

  async markLeft(record: { revision: number, at: string }): Promise<void> {
    await writeFileAtomic(this.leftFile, `${JSON.stringify(record)}\n`)
  }

  /** Refuses to run a node that is no longer a member of its platform. */
  async checkNotLeft(): Promise<void> {
    let record: { revision?: number, at?: string }
    try {
      record = JSON.parse(await fs.readFile(this.leftFile, 'utf8'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      record = {}
    }
    throw new OperatorError('PRYV_NODE_LEFT', `The node in ${this.path} is no longer a member of its platform: it left or was removed${record.at ? ` at ${record.at}` : ''}${record.revision ? ` (revision ${record.revision})` : ''}.`, {
      hint: 'To take part again, create an invite on a member (`pryv-node invite create`) and join with it on an empty data dir (`pryv-node join-platform <invite> --data-dir <new dir>`), then remove this one.',
      exitCode: ExitCode.conflict
    })
  }
  get optionsFile(): string { return join(this.path, 'options.json') }

  async isInitialised(): Promise<boolean> {
    return exists(this.configFile)
  }

  /** Creates the directory (0700) if needed and checks that this process can write in it. */
  async ensureWritable(): Promise<void> {
    if ((await fs.stat(this.path).catch(() => undefined))?.isDirectory() === false) throw dataDirIsAFile(this.path)
    try {
      await fs.mkdir(this.path, { recursive: true, mode: 0o700 })
      await fs.access(this.path, constants.W_OK | constants.X_OK)
      const probe = join(this.path, `.write-test-${process.pid}`)
      await fs.writeFile(probe, '')
      await fs.rm(probe)
    } catch (err) {
      throw new OperatorError('PRYV_DATA_DIR_NOT_WRITABLE', `The data dir ${this.path} is not writable: ${(err as Error).message}.`, {
        hint: 'Run as a user that owns the data dir, or choose another one with --data-dir.',
        exitCode: ExitCode.environment,
        cause: err
      })
    }
  }

  async readConfig(): Promise<NodeConfig> {
    let text: string
    try {
      text = await fs.readFile(this.configFile, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw dataDirIsAFile(this.path)
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new OperatorError('PRYV_NOT_INITIALISED', `${this.path} holds no pryv-node.`, {
          hint: 'Create a platform with `pryv-node init-platform --domain <domain>` or join one with `pryv-node join-platform <invite>`.',
          exitCode: ExitCode.conflict
        })
      }
      throw err
    }
    try {
      return JSON.parse(text) as NodeConfig
    } catch (err) {
      throw new OperatorError('PRYV_DATA_DIR_DAMAGED', `${this.configFile} is damaged (not valid JSON).`, {
        hint: 'Restore it from a backup, or remove the data dir and join the platform again.',
        exitCode: ExitCode.environment,
        cause: err
      })
    }
  }

  /** The options kept by the last run (none before the first). */
  async readKeptOptions(): Promise<KeptOptions> {
    try {
      return JSON.parse(await fs.readFile(this.optionsFile, 'utf8')) as KeptOptions
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
      if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw dataDirIsAFile(this.path)
      throw new OperatorError('PRYV_DATA_DIR_DAMAGED', `${this.optionsFile} cannot be read: ${(err as Error).message}.`, {
        hint: 'Remove it and give the node\'s options (--services, --metrics, --listen…) to `pryv-node start` again.',
        exitCode: ExitCode.environment
      })
    }
  }

  async writeKeptOptions(options: KeptOptions): Promise<void> {
    await writeFileAtomic(this.optionsFile, `${JSON.stringify(options, null, 2)}\n`)
  }

  // libp2p's key codec loads only here: CLI commands that only reach the control socket use this class too.
  async readIdentity(): Promise<PrivateKey> {
    const { identityFromBytes } = await import('../mesh/keys.js')
    return identityFromBytes(await fs.readFile(this.identityFile))
  }

  /** Writes the identity and config last, atomically: a data dir with node.json is a complete node. */
  async writeNode(config: NodeConfig, identity: PrivateKey): Promise<void> {
    const { identityToBytes } = await import('../mesh/keys.js')
    await writeFileAtomic(this.identityFile, identityToBytes(identity))
    await writeFileAtomic(this.configFile, `${JSON.stringify(config, null, 2)}\n`)
  }

  /** Records the platform keys in force (after a key rotation step), atomically. */
  async writePlatformKeys(platformKeyHex: string, acceptedKeysHex: readonly string[]): Promise<void> {
    const config = await this.readConfig()
    const others = acceptedKeysHex.filter((k) => k !== platformKeyHex)
    await writeFileAtomic(this.configFile, `${JSON.stringify({ ...config, platformKeyHex, acceptedKeysHex: others.length > 0 ? others : undefined }, null, 2)}\n`)
  }

  /**
   * Takes the data dir for this process. A lock left by a process that no longer runs is taken over.
   * Returns the function that releases it.
   */
  async lock(): Promise<() => Promise<void>> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const handle = await fs.open(this.lockFile, 'wx', 0o600)
        await handle.writeFile(String(process.pid))
        await handle.close()
        return async () => { await fs.rm(this.lockFile, { force: true }) }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        const pid = Number.parseInt(await fs.readFile(this.lockFile, 'utf8').catch(() => ''), 10)
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processRuns(pid)) {
          throw new OperatorError('PRYV_DATA_DIR_LOCKED', `Another pryv-node (pid ${pid}) is running on ${this.path}.`, {
            hint: 'Stop that process first (it stops cleanly on SIGTERM), or use another --data-dir.',
            exitCode: ExitCode.environment
          })
        }
        await fs.rm(this.lockFile, { force: true })
      }
    }
    throw new OperatorError('PRYV_DATA_DIR_LOCKED', `Cannot take the lock ${this.lockFile}.`, { exitCode: ExitCode.environment })
  }
}

/** The data dir's path names a file: every command says so the same way, without a stack. */
export function dataDirIsAFile(path: string): OperatorError {
  return new OperatorError('PRYV_DATA_DIR_NOT_A_DIRECTORY', `The data dir ${path} is a file, not a directory.`, {
    hint: 'Give a directory with --data-dir (or PRYV_NODE_DATA_DIR); init-platform and join-platform create it.',
    exitCode: ExitCode.environment
  })
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path)
    return true
  } catch {
    return false
  }
}

/** write to a temp file, fsync, rename, fsync the directory: the file is either old or new, never torn. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`
  const handle = await fs.open(tmp, 'w', mode)
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
  await fs.rename(tmp, path)
  const dir = await fs.open(join(path, '..'), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
