import { createHash } from 'node:crypto'
import { canonicalJson } from '../canonical-json.js'
import type { ReleaseRecord } from './types.js'

/** A release's content: everything its digest covers. */
export type ReleaseContent = Omit<ReleaseRecord, 'digest' | 'signature'>

/** sha256 (hex) of the canonical JSON of the release without `digest` and `signature`. */
export function releaseDigest(release: ReleaseContent | ReleaseRecord): string {
  const { digest: _digest, signature: _signature, ...content } = release as ReleaseRecord
  return createHash('sha256').update(canonicalJson(content)).digest('hex')
}
