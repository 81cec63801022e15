import { SchemaDefinitionError } from '../config/errors.js'
import { isRenderablePath } from '../config/paths.js'
import type { ServiceTemplates, TemplateFile } from '../config/render.js'
import { defineSchema, type Schema, type SchemaDef } from '../config/schema.js'
import { decodeText, parseYaml } from './bundle-text.js'
import { checkBundle } from './check.js'
import { platformSchemaDef } from './compile.js'
import { releaseDigest } from './digest.js'
import type { ReleaseProblem } from './errors.js'
import { type Manifest, parseManifest } from './manifest.js'
import { MIGRATION_FILE, parseMigration } from './migration-file.js'
import { FileProblems, isRecord } from './problems.js'
import { parseSchemaDef } from './schema-file.js'
import { compareSemver } from './semver.js'
import type { MigrationDef, ReleaseRecord, ReleaseSignature } from './types.js'

/** A bundle's regular files: POSIX path relative to its root → content. */
export type BundleFiles = ReadonlyMap<string, Buffer>

export const MANIFEST_FILE = 'release.yaml'
export const SCHEMA_FILE = 'schema.yaml'
export const SIGNATURE_FILE = 'release.sig'
const ROOT_FILES = [MANIFEST_FILE, SCHEMA_FILE, SIGNATURE_FILE, 'README.md']
const ROOT_DIRS = ['templates', 'files', 'migrations']
const LAYOUT = 'a bundle holds release.yaml, schema.yaml, templates/<service>/, files/, migrations/, and optionally release.sig and README.md'

/**
 * Parses and checks every file of a bundle, and returns its record (with digest, and signature when
 * release.sig is there) when nothing is wrong. Pure: the files are already in memory.
 */
export function releaseFromFiles(files: BundleFiles): { readonly record?: ReleaseRecord; readonly problems: readonly ReleaseProblem[] } {
  const problems: ReleaseProblem[] = []
  checkLayout(files, problems)
  const text = (path: string): string | undefined => {
    const content = files.get(path)
    return content === undefined ? undefined : decodeText(content, new FileProblems(path, problems))
  }
  const yaml = (path: string): { readonly value: unknown } | undefined => {
    const t = text(path)
    if (t === undefined) {
      if (!files.has(path)) new FileProblems(path, problems).add(undefined, 'is missing', LAYOUT)
      return undefined
    }
    return parseYaml(t, new FileProblems(path, problems))
  }

  const manifestData = yaml(MANIFEST_FILE)
  const manifest: Manifest = manifestData ? parseManifest(manifestData.value, new FileProblems(MANIFEST_FILE, problems)) : { services: [] }
  const schemaData = yaml(SCHEMA_FILE)
  const schemaDef = schemaData ? parseSchemaDef(schemaData.value, new FileProblems(SCHEMA_FILE, problems)) : undefined
  const schema = schemaDef ? compileSchema(schemaDef, new FileProblems(SCHEMA_FILE, problems)) : undefined
  const templates = readTemplates(files, text, problems)
  const releaseFiles = readReleaseFiles(files, text)
  const migrations = readMigrations(files, text, problems)
  const signatureText = text(SIGNATURE_FILE)
  const signature = signatureText === undefined ? undefined : parseSignature(signatureText, new FileProblems(SIGNATURE_FILE, problems))

  // Without a manifest, every template and consumer would look foreign: fix release.yaml first.
  if (manifestData) checkBundle({ manifest, schemaDef, schema, templates, files: releaseFiles, migrations }, problems)
  if (problems.length > 0 || !schemaDef || manifest.name === undefined || manifest.version === undefined) return { problems }

  const content = {
    name: manifest.name,
    version: manifest.version,
    ...(manifest.description !== undefined ? { description: manifest.description } : {}),
    services: [...manifest.services].sort((a, b) => byText(a.name, b.name)),
    schema: schemaDef,
    templates,
    files: releaseFiles,
    migrations: migrations.map((m) => m.def).sort((a, b) => compareSemver(a.from, b.from) || compareSemver(a.to, b.to))
  }
  const record: ReleaseRecord = { ...content, digest: releaseDigest(content), ...(signature ? { signature } : {}) }
  return { record, problems }
}

/** Code-unit order, the same on every machine whatever its locale (the digest depends on it). */
function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function checkLayout(files: BundleFiles, problems: ReleaseProblem[]): void {
  const reported = new Set<string>()
  for (const path of files.keys()) {
    const [top, ...rest] = path.split('/')
    const ok = rest.length === 0 ? ROOT_FILES.includes(top!) : ROOT_DIRS.includes(top!)
    if (ok || reported.has(top!)) continue
    reported.add(top!)
    const name = rest.length === 0 ? top! : `${top}/`
    const hint = name === 'release.yml' || name === 'schema.yml' ? `rename it to ${name.replace('.yml', '.yaml')}` : `remove it: ${LAYOUT}`
    new FileProblems(name, problems).add(undefined, 'is not part of the bundle format', hint)
  }
}

/** The schema with the node's group added, compiled; its problems are reported on schema.yaml. */
function compileSchema(def: SchemaDef, problems: FileProblems): Schema | undefined {
  try {
    return defineSchema(platformSchemaDef(def))
  } catch (err) {
    if (!(err instanceof SchemaDefinitionError)) throw err
    for (const p of err.problems) {
      const key = /^'([^']+)'/.exec(p)?.[1]
      problems.add(key, key ? p.slice(key.length + 4) : p, 'correct the setting in schema.yaml (see src/config/schema.ts for the format)')
    }
    return undefined
  }
}

/** `templates/<service>/{conf,templates}/…`, grouped per service, paths sorted. */
function readTemplates(files: BundleFiles, text: (path: string) => string | undefined, problems: ReleaseProblem[]): ServiceTemplates[] {
  const byService = new Map<string, TemplateFile[]>()
  for (const path of [...files.keys()].sort()) {
    const match = /^templates\/([^/]+)\/(.+)$/.exec(path)
    if (!path.startsWith('templates/')) continue
    if (!match || !isRenderablePath(match[2]!)) {
      new FileProblems(path, problems).add(undefined, 'is not a service template', 'put templates at templates/<service>/conf/… or templates/<service>/templates/…')
      continue
    }
    const content = text(path)
    if (content === undefined) continue
    byService.set(match[1]!, [...(byService.get(match[1]!) ?? []), { path: match[2]!, content }])
  }
  return [...byService.entries()].sort(([a], [b]) => byText(a, b)).map(([service, list]) => ({ service, files: list }))
}

function readReleaseFiles(files: BundleFiles, text: (path: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const path of [...files.keys()].sort()) {
    if (!path.startsWith('files/')) continue
    const content = text(path)
    if (content !== undefined) out[path] = content
  }
  return out
}

function readMigrations(files: BundleFiles, text: (path: string) => string | undefined, problems: ReleaseProblem[]): { file: string; def: MigrationDef }[] {
  const used = new Set<string>()
  const readCode = (name: string): string | undefined => {
    const path = `migrations/${name}`
    if (!/^[^/]+\.js$/.test(name) || !files.has(path)) return undefined
    used.add(path)
    return text(path)
  }
  const migrations: { file: string; def: MigrationDef }[] = []
  const paths = [...files.keys()].filter((p) => p.startsWith('migrations/')).sort()
  for (const path of paths) {
    if (path.endsWith('.js') && !path.slice('migrations/'.length).includes('/')) continue
    const fileProblems = new FileProblems(path, problems)
    if (!MIGRATION_FILE.test(path) || path.slice('migrations/'.length).includes('/')) {
      fileProblems.add(undefined, 'is not a migration', 'name migrations migrations/<from>-to-<to>.yaml (e.g. 1.0.0-to-1.1.0.yaml); code steps may use .js files beside them')
      continue
    }
    const t = text(path)
    const parsed = t === undefined ? undefined : parseYaml(t, fileProblems)
    const def = parsed && parseMigration(path, parsed.value, fileProblems, readCode)
    if (def) migrations.push({ file: path, def })
  }
  for (const path of paths) {
    if (path.endsWith('.js') && !path.slice('migrations/'.length).includes('/') && !used.has(path)) {
      new FileProblems(path, problems).add(undefined, 'is used by no code step', 'refer to it from a migration step (op: code, file: …) or remove it')
    }
  }
  return migrations
}

function parseSignature(text: string, problems: FileProblems): ReleaseSignature | undefined {
  const parsed = parseYaml(text, problems)
  if (!parsed) return undefined
  const sig = parsed.value
  const fix = 'sign the bundle again with `pryv-node release sign BUNDLE-DIR --key PRIVATE.key`'
  if (!isRecord(sig) || typeof sig.keyId !== 'string' || !/^[0-9a-f]{16}$/.test(sig.keyId) || typeof sig.value !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(sig.value)) {
    problems.add(undefined, 'is not a signature: expected keyId (16 hex characters) and value (a base64 ed25519 signature)', fix)
    return undefined
  }
  problems.unknownKeys(sig, ['keyId', 'value'], '', 'field')
  return { keyId: sig.keyId, value: sig.value }
}
