import type { RawRecord } from '../state/raw-state.js'
import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, SnapshotError, type SnapshotHeader } from '../state/snapshot.js'
import { HEAD_KEY } from '../state/store.js'

/**
 * The state snapshot format (src/state/snapshot.ts) written from and read into records kept as JSON
 * text: the same bytes as encodeSnapshot gives for the parsed records, and the same checks as
 * decodeSnapshot, without parsing and encoding again every value of a large state. Only the head
 * record is parsed (its node-local raft cursor is left out, as encodeSnapshot does).
 */

const CHUNK_CHARS = 1 << 20

interface HeadRecord { revision: number, hash: string, raft?: unknown }

/** The snapshot of `records` (in key order) as buffers of about 1 MiB, and its header. */
export function encodeSnapshotText(platformId: string, records: readonly RawRecord[]): { chunks: Buffer[], size: number, header: SnapshotHeader } {
  const headJson = records.find(([key]) => key === HEAD_KEY)?.[1]
  if (headJson === undefined) throw new SnapshotError('the state has no head: nothing was applied yet')
  const { raft: _local, ...head } = JSON.parse(headJson) as HeadRecord
  const header: SnapshotHeader = { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, platformId, revision: head.revision, headHash: head.hash, records: records.length }
  const chunks: Buffer[] = []
  let size = 0
  let text = `${JSON.stringify(header)}\n`
  for (const [key, json] of records) {
    text += `[${JSON.stringify(key)},${key === HEAD_KEY ? JSON.stringify(head) : json}]\n`
    if (text.length >= CHUNK_CHARS) {
      chunks.push(Buffer.from(text))
      size += chunks.at(-1)!.length
      text = ''
    }
  }
  if (text !== '') {
    chunks.push(Buffer.from(text))
    size += chunks.at(-1)!.length
  }
  return { chunks, size, header }
}

/**
 * Decodes a snapshot into records kept as JSON text, with decodeSnapshot's checks: header, format
 * version, record count and shapes, head. A value's text is not parsed: a backup's content is
 * authenticated (AES-GCM) as what a pryv-node wrote. Throws SnapshotError.
 */
export function decodeSnapshotText(bytes: Buffer): { header: SnapshotHeader, records: RawRecord[] } {
  const lines = bytes.toString('utf8').split('\n')
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
  const records: RawRecord[] = new Array(lines.length - 1)
  let headJson: string | undefined
  for (let i = 1; i < lines.length; i++) {
    const record = recordOf(lines[i]!)
    if (!record) throw new SnapshotError(`record ${i} of the snapshot is not a state record`)
    if (record[0] === HEAD_KEY) headJson = record[1]
    records[i - 1] = record
  }
  const head = headJson === undefined ? undefined : JSON.parse(headJson) as HeadRecord
  if (head?.revision !== header.revision || head.hash !== header.headHash) throw new SnapshotError('the snapshot\'s head record does not match its header')
  return { header, records }
}

/** `["state/…",<value>]` → [key, value's text]; undefined when the line is not a state record. */
function recordOf(line: string): RawRecord | undefined {
  // Fast path, the form encodeSnapshot writes: a key without escapes, ending at the first `",`.
  const end = line.startsWith('["state/') && line.endsWith(']') ? line.indexOf('",', 2) : -1
  if (end > 0 && line.lastIndexOf('\\', end) < 2) return [line.slice(2, end), line.slice(end + 2, -1)]
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    return undefined
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== 'string' || !parsed[0].startsWith('state/')) return undefined
  return [parsed[0], JSON.stringify(parsed[1])]
}
