import { promises as fs } from 'node:fs'
import { isAbsolute } from 'node:path'
import { ExitCode, OperatorError } from '../errors.js'
import { encodeSnapshotText } from '../state/snapshot.js'
import type { StateStore } from '../state/store.js'
import { packageVersion } from '../version.js'
import { backupFileExists, encodeBackup, newBackupKey } from './format.js'

/** The platform and node a backup is taken on. */
export interface BackupOrigin {
  readonly platformId: string
  readonly domain: string
  readonly node: string
  /** The mesh key in force (the keyring's); undefined while the node has none yet. */
  readonly platformKeyHex: string | undefined
}

export interface BackupWritten {
  readonly file: string
  readonly platformId: string
  readonly domain: string
  readonly revision: number
  readonly bytes: number
  /** Milliseconds since the epoch. */
  readonly at: number
}

/**
 * Writes a backup of the node's state, read at one instant while writes go on, to `file`; refuses to
 * replace an existing file unless `replace`. Done in the node, so that the state is neither copied over
 * the control socket nor parsed: its stored JSON goes into the file as it is. On failure, no file is left.
 */
export async function writeBackup(store: StateStore, origin: BackupOrigin, file: string, passphrase: string, options: { replace: boolean }): Promise<BackupWritten> {
  if (origin.platformKeyHex === undefined) {
    throw new OperatorError('PRYV_NOT_READY', 'This node holds no platform key yet (it is still joining): there is nothing to back up here.', {
      hint: 'Wait until `pryv-node status` shows the node joined, or back up on another member.',
      exitCode: ExitCode.conflict
    })
  }
  const derivation = newBackupKey(passphrase)
  const snapshot = encodeSnapshotText(origin.platformId, await store.exportStateText())
  const at = Date.now()
  const info = { platformId: origin.platformId, domain: origin.domain, revision: snapshot.header.revision, createdAt: new Date(at).toISOString(), node: origin.node, pryvNodeVersion: packageVersion() }
  const parts = encodeBackup(info, origin.platformKeyHex, snapshot.bytes, await derivation)
  let handle: fs.FileHandle
  try {
    handle = await fs.open(file, options.replace ? 'w' : 'wx', 0o600)
  } catch (err) {
    throw (err as NodeJS.ErrnoException).code === 'EEXIST' ? backupFileExists(file) : unwritable(file, err as Error)
  }
  try {
    for (const part of parts) await handle.write(part)
    await handle.sync()
  } catch (err) {
    await handle.close().catch(() => {})
    await fs.rm(file, { force: true })
    throw unwritable(file, err as Error)
  }
  await handle.close()
  return { file, platformId: origin.platformId, domain: origin.domain, revision: snapshot.header.revision, bytes: parts.reduce((n, p) => n + p.length, 0), at }
}

/** The parameters of the node's `backup.write` control method: an absolute file and the backup key. */
export function parseBackupWriteRequest(p: Record<string, unknown>): { file: string, key: string } {
  if (typeof p.file !== 'string' || !isAbsolute(p.file) || typeof p.key !== 'string' || p.key === '') {
    throw new OperatorError('PRYV_USAGE', 'A backup needs an absolute file path and a backup key.', { hint: 'Use `pryv-node backup <file> --key-file <file>`.', exitCode: ExitCode.usage })
  }
  return { file: p.file, key: p.key }
}

function unwritable(path: string, err: Error): OperatorError {
  return new OperatorError('PRYV_BACKUP_UNWRITABLE', `Cannot write ${path}: ${err.message}.`, {
    hint: 'Choose a writable location with enough free space.',
    exitCode: ExitCode.environment
  })
}
