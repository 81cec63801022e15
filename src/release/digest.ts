import { createHash } from 'node:crypto'
import type { ReleaseRecord } from './types.js'

/** A release's content: everything its digest covers. */
export type ReleaseContent = Omit<ReleaseRecord, 'digest' | 'signature'>

/**
 * JSON with object keys sorted (UTF-16 code unit order) at every depth and no whitespace; `undefined`
 * fields are left out as JSON.stringify does. Equal data gives equal text whatever the key order.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** sha256 (hex) of the canonical JSON of the release without `digest` and `signature`. */
export function releaseDigest(release: ReleaseContent | ReleaseRecord): string {
  const { digest: _digest, signature: _signature, ...content } = release as ReleaseRecord
  return createHash('sha256').update(canonicalJson(content)).digest('hex')
}
