import { createCipheriv, createDecipheriv, createHash, randomBytes, scrypt, scryptSync } from 'node:crypto'
import { ExitCode, type ExitCodeValue, OperatorError } from '../errors.js'

/**
 * A backup file: the platform's state at one revision, restorable without any machine of the platform.
 *
 *   pryv-node-backup <version>\n        the magic line (the format version is readable by any version)
 *   <header JSON>\n                     in clear: what the backup is, and a checksum of the rest
 *   <payload>                           AES-256-GCM: 12-byte IV, 16-byte tag, ciphertext
 *
 * The payload holds the state snapshot (src/state/snapshot.ts), settings secrets included, and the
 * platform's mesh key: everything in it is encrypted with a key derived (scrypt) from the operator's
 * backup key, which is never written by pryv-node. The header is bound to the payload (GCM's
 * additional data), so neither can be swapped or altered without the key noticing.
 */
export const BACKUP_MAGIC = 'pryv-node-backup'
export const BACKUP_VERSION = 1

export interface BackupHeader {
  readonly platformId: string
  readonly domain: string
  readonly revision: number
  /** ISO time the backup was taken. */
  readonly createdAt: string
  /** Name of the node that took it. */
  readonly node: string
  readonly pryvNodeVersion: string
  readonly kdf: { readonly name: 'scrypt', readonly salt: string, readonly N: number, readonly r: number, readonly p: number }
  readonly payloadBytes: number
  /** sha256 (hex) of the header without this field, a newline, and the payload: checked without the key. */
  readonly checksum: string
}

/** What the payload decrypts to. */
export interface BackupContent {
  readonly platformKeyHex: string
  /** The state snapshot's bytes. */
  readonly snapshot: Buffer
}

const SCRYPT = { N: 2 ** 15, r: 8, p: 1 }

function backupError(code: string, message: string, hint: string, exitCode: ExitCodeValue = ExitCode.usage): OperatorError {
  return new OperatorError(code, message, { hint, exitCode })
}

function scryptOptions(kdf: BackupHeader['kdf']): { N: number, r: number, p: number, maxmem: number } {
  return { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r }
}

export function backupFileExists(path: string): OperatorError {
  return new OperatorError('PRYV_FILE_EXISTS', `${path} already exists.`, { hint: 'Choose a new file name: a backup never replaces another.', exitCode: ExitCode.conflict })
}

function deriveKey(passphrase: string, kdf: BackupHeader['kdf']): Buffer {
  return scryptSync(passphrase, Buffer.from(kdf.salt, 'base64'), 32, scryptOptions(kdf))
}

/** A new key derivation for a backup, and its key (scrypt off the main thread: it runs while the state is read). */
export async function newBackupKey(passphrase: string): Promise<{ kdf: BackupHeader['kdf'], key: Buffer }> {
  const kdf = { name: 'scrypt' as const, salt: randomBytes(16).toString('base64'), ...SCRYPT }
  const key = await new Promise<Buffer>((resolve, reject) => {
    scrypt(passphrase, Buffer.from(kdf.salt, 'base64'), 32, scryptOptions(kdf), (err, derived) => (err ? reject(err) : resolve(derived)))
  })
  return { kdf, key }
}

function checksumOf(header: Omit<BackupHeader, 'checksum'>, payload: readonly Buffer[]): string {
  const hash = createHash('sha256').update(JSON.stringify(header)).update('\n')
  for (const part of payload) hash.update(part)
  return hash.digest('hex')
}

/**
 * A backup file's bytes, as buffers to write in order: the snapshot is given as chunks (of about
 * 1 MiB) and encrypted chunk by chunk, so that no copy of the whole state is made.
 */
export function encodeBackup(
  info: Omit<BackupHeader, 'kdf' | 'payloadBytes' | 'checksum'>,
  platformKeyHex: string,
  snapshot: Buffer,
  derived: { readonly kdf: BackupHeader['kdf'], readonly key: Buffer }
): Buffer[] {
  const iv = randomBytes(12)
  const secrets = Buffer.from(`${JSON.stringify({ platformKeyHex })}\n`)
  // The payload's size is known before encrypting (GCM adds nothing to the ciphertext), so the header can be bound to it.
  const unsigned = { ...info, kdf: derived.kdf, payloadBytes: 12 + 16 + secrets.length + snapshot.length }
  const cipher = createCipheriv('aes-256-gcm', derived.key, iv)
  cipher.setAAD(Buffer.from(JSON.stringify(unsigned)))
  const ciphertext = [cipher.update(secrets), cipher.update(snapshot), cipher.final()]
  const payload = [iv, cipher.getAuthTag(), ...ciphertext]
  const header: BackupHeader = { ...unsigned, checksum: checksumOf(unsigned, payload) }
  return [Buffer.from(`${BACKUP_MAGIC} ${BACKUP_VERSION}\n${JSON.stringify(header)}\n`), ...payload]
}

/**
 * Reads a backup's header and checks its checksum (no key needed): a truncated, corrupted or
 * foreign file, or one of a newer format, is refused with a clear error.
 */
export function readBackup(file: Buffer, name: string): { header: BackupHeader, payload: Buffer } {
  const firstNewline = file.indexOf(0x0a)
  const magic = file.subarray(0, Math.max(0, firstNewline)).toString('latin1')
  const match = /^pryv-node-backup (\d+)$/.exec(magic)
  if (firstNewline < 0 || !match) {
    throw backupError('PRYV_BACKUP_NOT_A_BACKUP', `${name} is not a pryv-node backup.`, 'Pass a file written by `pryv-node backup`.')
  }
  const version = Number(match[1])
  if (version > BACKUP_VERSION) {
    throw backupError('PRYV_BACKUP_NEWER_FORMAT', `${name} is a backup of format ${version}; this pryv-node reads formats up to ${BACKUP_VERSION}.`, 'Restore it with the pryv-node version that made it, or a newer one.')
  }
  const secondNewline = file.indexOf(0x0a, firstNewline + 1)
  let header: BackupHeader
  try {
    if (secondNewline < 0) throw new Error('no header')
    header = JSON.parse(file.subarray(firstNewline + 1, secondNewline).toString('utf8')) as BackupHeader
  } catch {
    throw backupError('PRYV_BACKUP_CORRUPT', `The header of ${name} is unreadable: the file is truncated or corrupted.`, 'Use another copy of the backup.')
  }
  const payload = file.subarray(secondNewline + 1)
  if (!Number.isSafeInteger(header.payloadBytes) || payload.length !== header.payloadBytes) {
    throw backupError('PRYV_BACKUP_TRUNCATED', `${name} holds ${payload.length} bytes of data where its header announces ${String(header.payloadBytes)}: it is truncated or was cut while copied.`, 'Use another copy of the backup.')
  }
  const { checksum, ...unsigned } = header
  if (checksumOf(unsigned, [payload]) !== checksum) {
    throw backupError('PRYV_BACKUP_CORRUPT', `${name} does not match its checksum: it was corrupted or altered.`, 'Use another copy of the backup.')
  }
  return { header, payload }
}

/** Decrypts a read backup's payload; a wrong key is refused as such. */
export function decryptBackup(header: BackupHeader, payload: Buffer, passphrase: string): BackupContent {
  const key = deriveKey(passphrase, header.kdf)
  const decipher = createDecipheriv('aes-256-gcm', key, payload.subarray(0, 12))
  decipher.setAuthTag(payload.subarray(12, 28))
  const { checksum: _checksum, ...unsigned } = header
  decipher.setAAD(Buffer.from(JSON.stringify(unsigned)))
  let plain: Buffer
  try {
    // One update: GCM's final() adds no bytes, so the plaintext is not copied again.
    plain = decipher.update(payload.subarray(28))
    decipher.final()
  } catch {
    throw backupError('PRYV_BACKUP_WRONG_KEY', 'The backup key does not open this backup.', 'Pass the key the backup was made with (--key-file, or PRYV_BACKUP_KEY).')
  }
  const newline = plain.indexOf(0x0a)
  const secrets = JSON.parse(plain.subarray(0, newline).toString('utf8')) as { platformKeyHex: string }
  return { platformKeyHex: secrets.platformKeyHex, snapshot: plain.subarray(newline + 1) }
}
