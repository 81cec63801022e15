import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { expect } from 'vitest'
import * as tar from 'tar'
import { parse, stringify } from 'yaml'
import { builtinReleasePath, type ReleaseInvalidError, type ReleaseProblem, loadRelease } from '../../src/release/index.js'
import { tempDir } from '../support/cli.js'
import { fixtureBundle } from './fixture-bundle.js'

export const DEMO = builtinReleasePath('demo')
export const PRYV_IO = builtinReleasePath('pryv-io')
// The fixtures, assembled once per test file with the demo's service files; removed when the worker exits.
const fixtures = mkdtempSync(join(tmpdir(), 'pn-fixtures-'))
process.on('exit', () => rmSync(fixtures, { recursive: true, force: true }))
export const DEMO_1_1 = fixtureBundle('demo-1.1.0', fixtures)
export const DEMO_1_2_UNHEALTHY = fixtureBundle('demo-1.2.0-unhealthy', fixtures)

/** A writable copy of a bundle directory (the shipped demo by default), in a temp dir. */
export function copyBundle(source = DEMO): string {
  const dir = join(tempDir('pn-rel-'), 'bundle')
  cpSync(source, dir, { recursive: true })
  return dir
}

/** Edits a YAML file of a bundle as data (comments are dropped). */
export function editYaml(dir: string, file: string, edit: (data: any) => void): void {
  const data = parse(readFileSync(join(dir, file), 'utf8'))
  edit(data)
  writeFileSync(join(dir, file), stringify(data))
}

export function writeText(dir: string, file: string, text: string): void {
  writeFileSync(join(dir, file), text)
}

export function remove(dir: string, file: string): void {
  rmSync(join(dir, file), { recursive: true })
}

/** Packs a bundle directory into a .tgz: as its top-level directory (default) or at the archive's root. */
export async function pack(dir: string, options: { atRoot?: boolean } = {}): Promise<string> {
  const file = join(tempDir('pn-tgz-'), 'bundle.tgz')
  if (options.atRoot) await tar.c({ gzip: true, file, cwd: dir, portable: true }, ['.'])
  else await tar.c({ gzip: true, file, cwd: resolve(dir, '..'), portable: true }, [resolve(dir).split('/').pop()!])
  return file
}

/** The problems of a bundle that must not load. */
export async function problemsOf(path: string): Promise<readonly ReleaseProblem[]> {
  const error = (await loadRelease(path).then(() => undefined, (err: unknown) => err)) as ReleaseInvalidError | undefined
  expect(error?.code, 'the bundle loaded, but it should not').toBe('PRYV_RELEASE_INVALID')
  expect(error!.exitCode).toBe(3)
  return error!.problems
}
