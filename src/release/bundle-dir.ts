import { lstat, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { BundleFiles } from './bundle.js'
import type { ReleaseProblem } from './errors.js'

/** Bounds on what one bundle may hold, for directories and archives alike. */
export interface BundleLimits {
  /** Total size of the bundle's files, in bytes. */
  readonly maxBytes: number
  readonly maxFiles: number
}

export const DEFAULT_BUNDLE_LIMITS: BundleLimits = { maxBytes: 64 * 1024 * 1024, maxFiles: 10_000 }

/**
 * Reads every regular file under `dir` into memory. Symbolic links and special files are reported,
 * not followed: a bundle must mean the same on every machine.
 */
export async function readBundleDir(dir: string, limits: BundleLimits = DEFAULT_BUNDLE_LIMITS): Promise<{ readonly files: BundleFiles; readonly problems: readonly ReleaseProblem[] }> {
  const files = new Map<string, Buffer>()
  const problems: ReleaseProblem[] = []
  let bytes = 0
  const walk = async (relative: string): Promise<boolean> => {
    const entries = await readdir(join(dir, relative), { withFileTypes: true })
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`
      if (entry.isDirectory()) {
        if (!(await walk(path))) return false
      } else if (entry.isFile()) {
        const size = (await lstat(join(dir, path))).size
        bytes += size
        if (files.size + 1 > limits.maxFiles || bytes > limits.maxBytes) {
          problems.push({ file: '.', message: `holds more than ${limits.maxFiles} files or ${limits.maxBytes} bytes`, fix: 'keep binaries and data out of the bundle: they belong in the service images' })
          return false
        }
        files.set(path, await readFile(join(dir, path)))
      } else {
        const what = entry.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'
        problems.push({ file: path, message: `is ${what}`, fix: 'put the file itself in the bundle: links are not followed' })
      }
    }
    return true
  }
  await walk('')
  return { files, problems }
}
