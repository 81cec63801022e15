import { releaseDigest } from '../release/digest.js'

/**
 * What a release record must look like for the log to carry it. The record's content is checked
 * against its digest, so a node never runs a release other than the one the operator applied.
 */
export function releaseRecordProblem(raw: unknown): string | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'the release must be an object'
  const r = raw as Record<string, unknown>
  for (const field of ['name', 'version', 'digest'] as const) {
    if (typeof r[field] !== 'string' || (r[field] as string).length === 0) return `the release needs a ${field}`
  }
  if (!Array.isArray(r.services) || !Array.isArray(r.templates) || !Array.isArray(r.migrations)) return 'the release needs services, templates and migrations'
  if (typeof r.schema !== 'object' || r.schema === null) return 'the release needs a schema'
  if (typeof r.files !== 'object' || r.files === null) return 'the release needs files'
  if (releaseDigest(raw as Parameters<typeof releaseDigest>[0]) !== r.digest) return 'the release does not match its digest'
  return undefined
}
