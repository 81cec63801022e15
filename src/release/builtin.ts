import { resolve } from 'node:path'

/** Releases shipped in the package's `releases/` directory. */
export type BuiltinRelease = 'demo' | 'pryv-io'

/**
 * The directory of a release shipped with the package. This file sits two levels below the package
 * root both as source (src/release/) and compiled (dist/release/), so one relative path serves both.
 */
export function builtinReleasePath(name: BuiltinRelease): string {
  return resolve(import.meta.dirname, '..', '..', 'releases', name)
}
