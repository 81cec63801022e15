import { createHash, randomUUID } from 'node:crypto'
import { chmod, mkdir, open, readFile, realpath, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join, sep } from 'node:path'
import { ConfigWriteError } from './errors.js'
import { isRenderablePath } from './paths.js'
import type { RenderedFiles } from './render.js'
import { compareText } from '../text-order.js'

/** Kept in the service directory; lists what rendering wrote so files it no longer produces can be removed. */
export const MANIFEST_FILE = '.pryv-rendered.json'

export interface RenderManifest {
  readonly version: 1
  /** Relative path -> sha256 (hex) of the content written. */
  readonly files: Readonly<Record<string, string>>
}

export interface WritePlan {
  /** New or different content. */
  readonly write: readonly string[]
  /** Written before, no longer produced, still on disk. */
  readonly remove: readonly string[]
  readonly unchanged: readonly string[]
}

export interface WriteResult extends WritePlan {
  readonly manifest: RenderManifest
  /** True when anything was written or removed: the service must restart. */
  readonly changed: boolean
}

const EMPTY_MANIFEST: RenderManifest = { version: 1, files: {} }
const FILE_MODE = 0o640
/** A private key: read by the service's own user (root in its container, or the node's user) only. */
const OWNER_ONLY_MODE = 0o600

export interface WriteOptions {
  /** Paths written readable by their owner only (a certificate's private key); the others are 0640. */
  readonly ownerOnly?: readonly string[]
}

export async function readManifest(serviceDir: string): Promise<RenderManifest> {
  const path = join(serviceDir, MANIFEST_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_MANIFEST
    throw new ConfigWriteError('PRYV_CONFIG_WRITE_FAILED', `cannot read ${path}`, { cause: error })
  }
  try {
    const parsed = JSON.parse(text) as RenderManifest
    if (parsed.version === 1 && typeof parsed.files === 'object' && parsed.files !== null) return parsed
  } catch {}
  throw new ConfigWriteError('PRYV_CONFIG_MANIFEST_INVALID', `${path} is not a valid render manifest`, {
    hint: `delete ${path}; files rendered earlier will then not be cleaned up automatically`
  })
}

/** What writeRenderedFiles would do, without writing anything (`--dry-run`). */
export async function plannedChanges(
  serviceDir: string,
  files: RenderedFiles,
  previousManifest?: RenderManifest
): Promise<WritePlan> {
  const previous = previousManifest ?? (await readManifest(serviceDir))
  const write: string[] = []
  const unchanged: string[] = []
  for (const [path, content] of Object.entries(files).sort(([a], [b]) => compareText(a, b))) {
    assertRenderable(path)
    const current = await readIfExists(join(serviceDir, path))
    if (current?.equals(Buffer.from(content)) === true) unchanged.push(path)
    else write.push(path)
  }
  const remove: string[] = []
  for (const path of Object.keys(previous.files).sort()) {
    // A manifest edited by hand must never make us delete outside conf/ or templates/.
    if (Object.hasOwn(files, path) || !isRenderablePath(path)) continue
    if ((await readIfExists(join(serviceDir, path))) !== undefined) remove.push(path)
  }
  return { write, remove, unchanged }
}

/**
 * Brings `<serviceDir>/conf/**` and `templates/**` to exactly `files`: each changed file is written
 * atomically (temp file, fsync, rename, fsync directory), files from the previous manifest that are no
 * longer produced are removed, and nothing else in the directory (data/, log/, backup/) is touched.
 */
export async function writeRenderedFiles(
  serviceDir: string,
  files: RenderedFiles,
  previousManifest?: RenderManifest,
  options: WriteOptions = {}
): Promise<WriteResult> {
  const previous = previousManifest ?? (await readManifest(serviceDir))
  const plan = await plannedChanges(serviceDir, files, previous)
  const ownerOnly = new Set(options.ownerOnly)
  // One written before with the group's read bit keeps its content and loses that bit.
  for (const path of plan.unchanged) if (ownerOnly.has(path)) await chmod(join(serviceDir, path), OWNER_ONLY_MODE)
  const manifest: RenderManifest = {
    version: 1,
    files: Object.fromEntries(Object.entries(files).map(([path, content]) => [path, sha256(content)]))
  }
  const changed = plan.write.length > 0 || plan.remove.length > 0
  if (!changed && sameFiles(previous, manifest)) return { ...plan, manifest, changed }

  try {
    // Record the union first: if we stop half-way, the next run still knows every file it may have written.
    await atomicWrite(serviceDir, MANIFEST_FILE, JSON.stringify({ version: 1, files: { ...previous.files, ...manifest.files } }))
    for (const path of plan.write) await atomicWrite(serviceDir, path, files[path]!, ownerOnly.has(path) ? OWNER_ONLY_MODE : FILE_MODE)
    for (const path of plan.remove) {
      await unlink(join(serviceDir, path))
      await syncDir(dirname(join(serviceDir, path)))
    }
    await atomicWrite(serviceDir, MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`)
  } catch (error) {
    if (error instanceof ConfigWriteError) throw error
    throw new ConfigWriteError('PRYV_CONFIG_WRITE_FAILED', `cannot write configuration in ${serviceDir}: ${(error as Error).message}`, {
      cause: error,
      hint: 'check free disk space and permissions, then re-apply the revision'
    })
  }
  return { ...plan, manifest, changed }
}

/** Services whose rendered files changed, given each service's plan or write result. */
export function servicesToRestart(results: Readonly<Record<string, WritePlan>>): string[] {
  return Object.entries(results)
    .filter(([, plan]) => plan.write.length > 0 || plan.remove.length > 0)
    .map(([service]) => service)
    .sort()
}

function assertRenderable(path: string): void {
  if (!isRenderablePath(path)) {
    throw new ConfigWriteError('PRYV_CONFIG_PATH_REFUSED', `refusing to write '${path}': only conf/** and templates/** are rendered`)
  }
}

async function atomicWrite(serviceDir: string, path: string, content: string, mode = FILE_MODE): Promise<void> {
  const target = join(serviceDir, path)
  const dir = dirname(target)
  await mkdir(dir, { recursive: true })
  await assertInside(serviceDir, dir, path)
  const temp = join(dir, `.${basename(target)}.${randomUUID()}.tmp`)
  const handle = await open(temp, 'w', mode)
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temp, target)
  } catch (error) {
    await unlink(temp).catch(() => undefined)
    throw error
  }
  await syncDir(dir)
}

/** A symlinked conf/ (say, to data/) must not let rendering write elsewhere. */
async function assertInside(serviceDir: string, dir: string, path: string): Promise<void> {
  const root = await realpath(serviceDir)
  const real = await realpath(dir)
  const allowed = path === MANIFEST_FILE ? [root] : [join(root, path.split('/')[0]!)]
  if (!allowed.some((base) => real === base || real.startsWith(base + sep))) {
    throw new ConfigWriteError('PRYV_CONFIG_PATH_REFUSED', `refusing to write '${path}': ${dir} resolves outside the service's ${path.split('/')[0]}/ folder`)
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function sha256(content: string): string {
  return createHash('sha256').update(content).digest('hex')
}

function sameFiles(a: RenderManifest, b: RenderManifest): boolean {
  const keys = Object.keys(a.files)
  return keys.length === Object.keys(b.files).length && keys.every((k) => a.files[k] === b.files[k])
}
