import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BundleLimits } from './bundle-dir.js'
import { ReleaseArchiveError, ReleaseNotABundleError } from './errors.js'

const EXTRACTED_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory'])

/**
 * Extracts a gzipped tar of a bundle into a new temporary directory and runs `use` on the bundle's
 * root there (the archive's root, or its one top-level directory). The directory is removed
 * afterwards, whatever happens. Every entry is checked first: relative paths without `..`, only
 * files and directories, within the limits; otherwise nothing is extracted.
 */
export async function withExtractedArchive<T>(file: string, limits: BundleLimits, use: (root: string) => Promise<T>): Promise<T> {
  // Loaded here, not at start: a node that never reads an archive does not carry the tar code.
  const tar = await import('tar')
  await checkEntries(tar, file, limits)
  const dir = await mkdtemp(join(tmpdir(), 'pryv-release-'))
  try {
    await tar.x({ file, cwd: dir, strict: true, preservePaths: false, filter: (_path, entry) => EXTRACTED_TYPES.has((entry as { type: string }).type) })
    return await use(await bundleRoot(dir, file))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function checkEntries(tar: typeof import('tar'), file: string, limits: BundleLimits): Promise<void> {
  const problems: string[] = []
  let bytes = 0
  let count = 0
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        count++
        bytes += entry.size ?? 0
        const path = entry.path
        if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\')) problems.push(`${path}: absolute path`)
        else if (path.split('/').includes('..')) problems.push(`${path}: path leaves the bundle (..)`)
        if (!EXTRACTED_TYPES.has(entry.type)) problems.push(`${path}: ${entry.type === 'SymbolicLink' || entry.type === 'Link' ? 'a link' : `a ${entry.type} entry`}, not a file or directory`)
      }
    })
  } catch (err) {
    throw new ReleaseNotABundleError(file, `it is neither a directory nor a readable .tgz (${(err as Error).message})`)
  }
  if (count === 0) throw new ReleaseNotABundleError(file, 'the archive is empty')
  if (count > limits.maxFiles) problems.push(`${count} entries, more than the limit of ${limits.maxFiles}`)
  if (bytes > limits.maxBytes) problems.push(`${bytes} bytes once extracted, more than the limit of ${limits.maxBytes}`)
  if (problems.length > 0) throw new ReleaseArchiveError(file, problems)
}

/** The directory holding release.yaml: the archive's root, or its single top-level directory. */
async function bundleRoot(dir: string, file: string): Promise<string> {
  const entries = await readdir(dir, { withFileTypes: true })
  if (entries.some((e) => e.name === 'release.yaml')) return dir
  if (entries.length === 1 && entries[0]!.isDirectory()) {
    const inner = join(dir, entries[0]!.name)
    if ((await readdir(inner)).includes('release.yaml')) return inner
  }
  throw new ReleaseNotABundleError(file, 'the archive has no release.yaml at its root or in its one top-level directory', 'pack the bundle directory itself, e.g. `tar -czf bundle.tgz -C releases demo`')
}
