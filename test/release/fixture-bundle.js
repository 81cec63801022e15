// The release fixtures (test/release/fixtures/*) hold only what sets them apart from the built-in demo
// release: manifest, schema, templates and migrations. Their services run the demo's own files, so a
// fixture bundle is assembled in a scratch directory from both. Plain JS: bench/release.js uses it too.
import { cpSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

/** Assembles the fixture `name` (e.g. `demo-1.1.0`) as a bundle directory under `parent`; returns its path. */
export function fixtureBundle(name, parent) {
  const dir = join(parent, name)
  cpSync(join(ROOT, 'test/release/fixtures', name), dir, { recursive: true })
  cpSync(join(ROOT, 'releases/demo/files'), join(dir, 'files'), { recursive: true })
  return dir
}
