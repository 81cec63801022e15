import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ReleaseInvalidError } from './errors.js'
import { isRelativeInside } from './manifest.js'
import type { ReleaseRecord } from './types.js'

/** Written last into a release directory: which release it holds. */
export const RELEASE_MARKER_FILE = '.pryv-release.json'

/**
 * Makes `dir` hold exactly the release's `files` (`dir/files/…`), for `{release}` in its commands.
 * Idempotent: a directory already holding this digest is left alone. Otherwise the files are written
 * into a new sibling directory, which then replaces `dir` by rename, so a reader never sees a
 * half-written release.
 */
export async function writeReleaseFiles(record: ReleaseRecord, dir: string): Promise<{ readonly written: boolean }> {
  const bad = Object.keys(record.files).filter((path) => !path.startsWith('files/') || !isRelativeInside(path))
  if (bad.length > 0) {
    throw new ReleaseInvalidError(`${record.name} ${record.version}`, bad.map((file) => ({ file, message: 'is not a path under files/', fix: 'load the release from its bundle again' })))
  }
  if ((await markedDigest(dir)) === record.digest) return { written: false }
  await mkdir(dirname(dir), { recursive: true })
  const suffix = randomBytes(6).toString('hex')
  const staging = join(dirname(dir), `.${basename(dir)}.new-${suffix}`)
  const retired = join(dirname(dir), `.${basename(dir)}.old-${suffix}`)
  try {
    await mkdir(staging)
    for (const [path, content] of Object.entries(record.files)) {
      await mkdir(dirname(join(staging, path)), { recursive: true })
      await writeFile(join(staging, path), content, { mode: 0o644 })
    }
    await writeFile(join(staging, RELEASE_MARKER_FILE), `${JSON.stringify({ name: record.name, version: record.version, digest: record.digest })}\n`)
    await rename(dir, retired).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err
    })
    await rename(staging, dir)
  } finally {
    await rm(staging, { recursive: true, force: true })
    await rm(retired, { recursive: true, force: true })
  }
  return { written: true }
}

async function markedDigest(dir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(dir, RELEASE_MARKER_FILE), 'utf8')) as { digest?: string }).digest
  } catch {
    return undefined
  }
}
