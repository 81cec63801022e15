import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { ExitCode, OperatorError } from '../errors.js'

const KEY_VARIABLE = 'PRYV_BACKUP_KEY'

/**
 * The operator's backup key: the content of `--key-file`, else the PRYV_BACKUP_KEY variable. It is
 * never written by pryv-node beside a backup: the operator keeps it elsewhere (a password manager, a
 * vault, another machine).
 */
export async function readBackupKey(keyFile: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  let key: string | undefined
  if (keyFile !== undefined) {
    try {
      key = (await fs.readFile(keyFile, 'utf8')).trim()
    } catch (err) {
      throw new OperatorError('PRYV_BACKUP_KEY_UNREADABLE', `Cannot read the backup key file ${keyFile}: ${(err as Error).message}.`, {
        hint: 'Pass the file holding the backup key (create one with `pryv-node backup keygen <file>`).',
        exitCode: ExitCode.usage
      })
    }
  } else {
    key = env[KEY_VARIABLE]?.trim()
  }
  if (!key) {
    throw new OperatorError('PRYV_BACKUP_KEY_MISSING', 'A backup key is needed: backups are encrypted with it.', {
      hint: `Pass --key-file <file> (create one with \`pryv-node backup keygen <file>\`) or set ${KEY_VARIABLE}.`,
      exitCode: ExitCode.usage
    })
  }
  if (key.length < 16) {
    throw new OperatorError('PRYV_BACKUP_KEY_WEAK', 'The backup key is shorter than 16 characters.', {
      hint: 'Use a longer key, e.g. one made by `pryv-node backup keygen <file>`.',
      exitCode: ExitCode.usage
    })
  }
  return key
}

/** Writes a new random backup key (owner-only); refuses to replace an existing file. */
export async function writeNewBackupKey(file: string): Promise<void> {
  try {
    await fs.writeFile(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST'
    throw new OperatorError(exists ? 'PRYV_FILE_EXISTS' : 'PRYV_BACKUP_KEY_UNWRITABLE', exists ? `${file} already exists.` : `Cannot write ${file}: ${(err as Error).message}.`, {
      hint: exists ? 'Choose another file: an existing key is never replaced (backups made with it would be lost).' : 'Choose a writable location.',
      exitCode: exists ? ExitCode.conflict : ExitCode.environment
    })
  }
}
