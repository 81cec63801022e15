import { createHash } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { StateRecord, StateTextRecord } from './store.js'

/**
 * A snapshot of the replicated state at one revision: the bytes a lagging or new node installs
 * instead of replaying the platform log from its first entry. Generic over the state keyspace: it
 * carries every record under `state/`, whatever record types the state machine has.
 *
 * Layout (UTF-8, one JSON value a line): a header line, then one `[key, value]` line per record in
 * key order. The same state gives the same bytes on every node.
 */
export const SNAPSHOT_FORMAT = 'pryv-node-state'
export const SNAPSHOT_VERSION = 1

const HEAD_KEY = 'state/head'

export interface SnapshotHeader {
  readonly format: typeof SNAPSHOT_FORMAT
  readonly version: number
  readonly platformId: string
  readonly revision: number
  /** Hash of the platform log's entry at `revision`: the chain the next entries continue. */
  readonly headHash: string
  readonly records: number
}

/**
 * What a writer vouches for: this platform's state at `revision`, ending the log chain at `headHash`,
 * is exactly the `size` bytes hashing to `hash`. A receiver checks it as it checks a signed entry.
 */
export interface SnapshotManifest {
  readonly platformId: string
  readonly revision: number
  readonly headHash: string
  /** sha256 (hex) of the whole snapshot. */
  readonly hash: string
  readonly size: number
  /** The writer that signed, and its base64 Ed25519 signature over the fields above. */
  readonly signer: string
  readonly sig: string
}

export class SnapshotError extends Error {
  static override name = 'SnapshotError'
  override name = 'SnapshotError'
}

interface HeadRecord { revision: number, hash: string, raft?: unknown }

/** Encodes the state records (as StateStore.exportState reads them); the node-local raft cursor is left out. */
export function encodeSnapshot(platformId: string, records: readonly StateRecord[]): { bytes: Buffer, header: SnapshotHeader } {
  return encodeSnapshotText(platformId, records.map(([key, value]): StateTextRecord => [key, JSON.stringify(value)]))
}

/**
 * Encodes state records whose values are JSON text (StateStore.exportStateText): the same bytes as
 * encodeSnapshot, without parsing and serialising every value again.
 */
export function encodeSnapshotText(platformId: string, records: readonly StateTextRecord[]): { bytes: Buffer, header: SnapshotHeader } {
  const headText = records.find(([key]) => key === HEAD_KEY)?.[1]
  if (headText === undefined) throw new SnapshotError('the state has no head: nothing was applied yet')
  const { raft: _local, ...replicated } = JSON.parse(headText) as HeadRecord
  const header: SnapshotHeader = { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, platformId, revision: replicated.revision, headHash: replicated.hash, records: records.length }
  const lines = [JSON.stringify(header)]
  for (const [key, json] of records) lines.push(`[${JSON.stringify(key)},${key === HEAD_KEY ? JSON.stringify(replicated) : json}]`)
  return { bytes: Buffer.from(`${lines.join('\n')}\n`), header }
}

/** The header and record lines of a snapshot, with the checks every reader makes: not truncated, header, format version, record count. */
function snapshotLines(bytes: Uint8Array): { header: SnapshotHeader, lines: string[] } {
  const lines = Buffer.from(bytes).toString('utf8').split('\n')
  if (lines.at(-1) !== '') throw new SnapshotError('the snapshot is truncated')
  lines.pop()
  let header: SnapshotHeader
  try {
    header = JSON.parse(lines[0] ?? '') as SnapshotHeader
  } catch {
    throw new SnapshotError('the snapshot has no readable header')
  }
  if (header?.format !== SNAPSHOT_FORMAT) throw new SnapshotError('this is not a pryv-node state snapshot')
  if (!Number.isSafeInteger(header.version) || header.version > SNAPSHOT_VERSION) {
    throw new SnapshotError(`the snapshot's format version ${String(header.version)} is newer than this pryv-node reads (${SNAPSHOT_VERSION}): upgrade pryv-node`)
  }
  if (lines.length - 1 !== header.records) throw new SnapshotError(`the snapshot holds ${lines.length - 1} records where its header announces ${header.records}`)
  return { header, lines }
}

function checkHead(header: SnapshotHeader, head: HeadRecord | undefined): void {
  if (head?.revision !== header.revision || head.hash !== header.headHash) throw new SnapshotError('the snapshot\'s head record does not match its header')
}

/** Decodes and checks a snapshot's bytes: header, format version, record shapes, head. Throws SnapshotError. */
export function decodeSnapshot(bytes: Uint8Array): { header: SnapshotHeader, records: StateRecord[] } {
  const { header, lines } = snapshotLines(bytes)
  const records: StateRecord[] = []
  for (let i = 1; i < lines.length; i++) {
    let record: unknown
    try {
      record = JSON.parse(lines[i]!)
    } catch {
      throw new SnapshotError(`record ${i} of the snapshot is not valid JSON`)
    }
    if (!isStateRecord(record)) throw new SnapshotError(`record ${i} of the snapshot is not a state record`)
    records.push(record)
  }
  checkHead(header, records.find(([key]) => key === HEAD_KEY)?.[1] as HeadRecord | undefined)
  return { header, records }
}

/**
 * Decodes a snapshot into records whose values stay JSON text (for StateStore founding a state from
 * text), with decodeSnapshot's checks; only the head record is parsed. For a snapshot whose content is
 * authenticated otherwise (a backup's AES-GCM): a value's text is not checked to be JSON.
 */
export function decodeSnapshotText(bytes: Uint8Array): { header: SnapshotHeader, records: StateTextRecord[] } {
  const { header, lines } = snapshotLines(bytes)
  const records: StateTextRecord[] = new Array(lines.length - 1)
  let headText: string | undefined
  for (let i = 1; i < lines.length; i++) {
    const record = textRecordOf(lines[i]!)
    if (!record) throw new SnapshotError(`record ${i} of the snapshot is not a state record`)
    if (record[0] === HEAD_KEY) headText = record[1]
    records[i - 1] = record
  }
  checkHead(header, headText === undefined ? undefined : JSON.parse(headText) as HeadRecord)
  return { header, records }
}

function isStateRecord(record: unknown): record is [string, unknown] {
  return Array.isArray(record) && record.length === 2 && typeof record[0] === 'string' && record[0].startsWith('state/')
}

/** `["state/…",<value>]` → [key, value's text]; undefined when the line is not a state record. */
function textRecordOf(line: string): StateTextRecord | undefined {
  // Fast path, the form the encoders write: a key without escapes, ending at the first `",`.
  const end = line.startsWith('["state/') && line.endsWith(']') ? line.indexOf('",', 2) : -1
  if (end > 0 && line.lastIndexOf('\\', end) < 2) return [line.slice(2, end), line.slice(end + 2, -1)]
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    return undefined
  }
  return isStateRecord(parsed) ? [parsed[0], JSON.stringify(parsed[1])] : undefined
}

export function snapshotHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function manifestText(m: Omit<SnapshotManifest, 'signer' | 'sig'>): string {
  return `pryv-node-snapshot/1\n${m.platformId}\n${m.revision}\n${m.headHash}\n${m.hash}\n${m.size}`
}

/** Signs a snapshot's manifest with a writer's identity key. */
export async function signManifest(header: SnapshotHeader, bytes: Uint8Array, key: PrivateKey, signer: string): Promise<SnapshotManifest> {
  const fields = { platformId: header.platformId, revision: header.revision, headHash: header.headHash, hash: snapshotHash(bytes), size: bytes.length }
  const sig = await key.sign(Buffer.from(manifestText(fields)))
  return { ...fields, signer, sig: Buffer.from(sig).toString('base64') }
}

/** Shape check for a manifest from the network; undefined when malformed. */
export function parseManifest(raw: unknown): SnapshotManifest | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (typeof r.platformId !== 'string' || r.platformId.length > 64) return undefined
  if (!Number.isSafeInteger(r.revision) || (r.revision as number) < 1) return undefined
  if (typeof r.headHash !== 'string' || !/^[0-9a-f]{64}$/.test(r.headHash)) return undefined
  if (typeof r.hash !== 'string' || !/^[0-9a-f]{64}$/.test(r.hash)) return undefined
  if (!Number.isSafeInteger(r.size) || (r.size as number) < 1) return undefined
  if (typeof r.signer !== 'string' || r.signer.length > 128 || typeof r.sig !== 'string' || r.sig.length > 256) return undefined
  return { platformId: r.platformId, revision: r.revision as number, headHash: r.headHash, hash: r.hash, size: r.size as number, signer: r.signer, sig: r.sig }
}

export async function verifyManifestSignature(m: SnapshotManifest): Promise<boolean> {
  try {
    const publicKey = peerIdFromString(m.signer).publicKey
    if (!publicKey) return false
    return await publicKey.verify(Buffer.from(manifestText(m)), Buffer.from(m.sig, 'base64'))
  } catch {
    return false
  }
}

/**
 * Checks received bytes against their manifest and decodes them: the whole-snapshot hash, the
 * writer's signature, and that the content is the platform, revision and chain head vouched for.
 * `writers`: the writers this node trusts; a node with no state yet trusts the snapshot's own.
 */
export async function openVerifiedSnapshot(manifest: SnapshotManifest, bytes: Uint8Array, platformId: string, writers: readonly string[]): Promise<{ header: SnapshotHeader, records: StateRecord[] }> {
  if (manifest.platformId !== platformId) throw new SnapshotError('the snapshot is of another platform')
  if (bytes.length !== manifest.size || snapshotHash(bytes) !== manifest.hash) throw new SnapshotError('the snapshot does not match its hash: it was corrupted or tampered with on the way')
  if (!(await verifyManifestSignature(manifest))) throw new SnapshotError('the snapshot\'s signature is not valid')
  const decoded = decodeSnapshot(bytes)
  const { header } = decoded
  if (header.platformId !== platformId || header.revision !== manifest.revision || header.headHash !== manifest.headHash) {
    throw new SnapshotError('the snapshot\'s content is not what its manifest vouches for')
  }
  const head = decoded.records.find(([key]) => key === HEAD_KEY)?.[1] as { writers?: string[] } | undefined
  const trusted = writers.length > 0 ? writers : (head?.writers ?? [])
  if (!trusted.includes(manifest.signer)) throw new SnapshotError('the snapshot is not signed by a writer of the platform')
  return decoded
}
