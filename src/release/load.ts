import { readdir, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { withExtractedArchive } from './archive.js'
import { MANIFEST_FILE, releaseFromFiles } from './bundle.js'
import { type BundleLimits, DEFAULT_BUNDLE_LIMITS, readBundleDir } from './bundle-dir.js'
import { ReleaseInvalidError, ReleaseNotABundleError, ReleaseNotFoundError } from './errors.js'
import type { ReleaseRecord } from './types.js'

export type LoadOptions = Partial<BundleLimits>

export interface LoadedRelease {
  readonly record: ReleaseRecord
  /** Where the bundle was read from (absolute path). */
  readonly source: { readonly path: string; readonly kind: 'directory' | 'archive' }
}

/**
 * Reads a bundle (a directory, or a `.tgz` of one) and checks all of it. Throws ReleaseNotFoundError,
 * ReleaseNotABundleError, ReleaseArchiveError (unsafe archive) or ReleaseInvalidError listing every
 * problem with its file and field. Does not check the signature (verifyRelease does, with trusted keys).
 */
export async function loadRelease(path: string, options: LoadOptions = {}): Promise<LoadedRelease> {
  const limits: BundleLimits = { ...DEFAULT_BUNDLE_LIMITS, ...options }
  const absolute = resolve(path)
  let isDirectory: boolean
  try {
    isDirectory = (await stat(absolute)).isDirectory()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new ReleaseNotFoundError(path)
    throw new ReleaseNotABundleError(path, `it cannot be read (${(err as Error).message})`, 'check the path and its permissions')
  }
  if (isDirectory) return { record: await loadDirectory(absolute, path, limits), source: { path: absolute, kind: 'directory' } }
  const record = await withExtractedArchive(absolute, limits, (root) => loadDirectory(root, path, limits))
  return { record, source: { path: absolute, kind: 'archive' } }
}

async function loadDirectory(dir: string, shownAs: string, limits: BundleLimits): Promise<ReleaseRecord> {
  const names = await readdir(dir)
  if (!names.includes(MANIFEST_FILE)) {
    const hint = names.includes('release.yml') ? 'rename release.yml to release.yaml' : undefined
    throw new ReleaseNotABundleError(shownAs, `the directory has no ${MANIFEST_FILE}`, hint)
  }
  const read = await readBundleDir(dir, limits)
  const parsed = releaseFromFiles(read.files)
  const problems = [...read.problems, ...parsed.problems]
  if (problems.length > 0 || !parsed.record) throw new ReleaseInvalidError(shownAs, problems)
  return parsed.record
}
