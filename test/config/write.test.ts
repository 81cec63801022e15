import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ExitCode } from '../../src/errors.js'
import {
  ConfigWriteError,
  MANIFEST_FILE,
  plannedChanges,
  readManifest,
  servicesToRestart,
  writeRenderedFiles
} from '../../src/config/index.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pryv-config-write-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function tree(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as { path?: string }).path, e.name).slice(root.length + 1))
    .sort()
}

describe('writeRenderedFiles', () => {
  it('writes new files, creates folders, records a manifest and reports the change', async () => {
    const result = await writeRenderedFiles(dir, { 'conf/api.json': '{}\n', 'templates/mail/en.pug': 'p hi\n' })
    expect(result).toMatchObject({ write: ['conf/api.json', 'templates/mail/en.pug'], remove: [], unchanged: [], changed: true })
    expect(await readFile(join(dir, 'templates/mail/en.pug'), 'utf8')).toBe('p hi\n')
    expect(await tree(dir)).toEqual([MANIFEST_FILE, 'conf/api.json', 'templates/mail/en.pug'])
    expect(Object.keys((await readManifest(dir)).files)).toEqual(['conf/api.json', 'templates/mail/en.pug'])
    expect((await stat(join(dir, 'conf/api.json'))).mode & 0o777).toBe(0o640)
  })

  it('writes a private key readable by its owner only, also one written before with the group\'s read bit', async () => {
    await writeRenderedFiles(dir, { 'conf/secret/key.pem': 'K', 'conf/secret/chain.crt': 'C' })
    expect((await stat(join(dir, 'conf/secret/key.pem'))).mode & 0o777).toBe(0o640)
    const again = await writeRenderedFiles(dir, { 'conf/secret/key.pem': 'K', 'conf/secret/chain.crt': 'C' }, undefined, { ownerOnly: ['conf/secret/key.pem'] })
    expect(again).toMatchObject({ write: [], changed: false })
    expect((await stat(join(dir, 'conf/secret/key.pem'))).mode & 0o777).toBe(0o600)
    await writeRenderedFiles(dir, { 'conf/secret/key.pem': 'K2', 'conf/secret/chain.crt': 'C2' }, undefined, { ownerOnly: ['conf/secret/key.pem'] })
    expect((await stat(join(dir, 'conf/secret/key.pem'))).mode & 0o777).toBe(0o600)
    expect((await stat(join(dir, 'conf/secret/chain.crt'))).mode & 0o777).toBe(0o640)
  })

  it('reports nothing changed when the same files are rendered again', async () => {
    await writeRenderedFiles(dir, { 'conf/a.json': 'A' })
    const before = await stat(join(dir, 'conf/a.json'))
    const again = await writeRenderedFiles(dir, { 'conf/a.json': 'A' })
    expect(again).toMatchObject({ write: [], remove: [], unchanged: ['conf/a.json'], changed: false })
    expect((await stat(join(dir, 'conf/a.json'))).mtimeMs).toBe(before.mtimeMs)
  })

  it('replaces a changed file by rename (new inode, no temp file left) and rewrites a hand-edited one', async () => {
    await writeRenderedFiles(dir, { 'conf/a.json': 'A', 'conf/b.json': 'B' })
    const inode = (await stat(join(dir, 'conf/a.json'))).ino
    await writeFile(join(dir, 'conf/b.json'), 'edited by hand')
    const result = await writeRenderedFiles(dir, { 'conf/a.json': 'A2', 'conf/b.json': 'B' })
    expect(result.write).toEqual(['conf/a.json', 'conf/b.json'])
    expect((await stat(join(dir, 'conf/a.json'))).ino).not.toBe(inode)
    expect(await readFile(join(dir, 'conf/b.json'), 'utf8')).toBe('B')
    expect(await tree(dir)).toEqual([MANIFEST_FILE, 'conf/a.json', 'conf/b.json'])
  })

  it('removes files it wrote before and no longer produces, never data/, log/, backup/ or unmanaged files', async () => {
    for (const f of ['data/db.sqlite', 'log/api.log', 'backup/x.tar', 'conf/operator-notes.txt']) {
      await mkdir(join(dir, f, '..'), { recursive: true })
      await writeFile(join(dir, f), 'keep')
    }
    await writeRenderedFiles(dir, { 'conf/a.json': 'A', 'conf/old.json': 'O', 'templates/old.pug': 'P' })
    const result = await writeRenderedFiles(dir, { 'conf/a.json': 'A' })
    expect(result).toMatchObject({ write: [], remove: ['conf/old.json', 'templates/old.pug'], changed: true })
    expect(await tree(dir)).toEqual([
      MANIFEST_FILE,
      'backup/x.tar',
      'conf/a.json',
      'conf/operator-notes.txt',
      'data/db.sqlite',
      'log/api.log'
    ])
  })

  it('ignores manifest entries outside conf/ and templates/ (a hand-edited manifest cannot delete data)', async () => {
    await mkdir(join(dir, 'data'))
    await writeFile(join(dir, 'data/db.sqlite'), 'keep')
    const result = await writeRenderedFiles(dir, {}, { version: 1, files: { 'data/db.sqlite': 'x', '../outside': 'y' } })
    expect(result.remove).toEqual([])
    expect(await readFile(join(dir, 'data/db.sqlite'), 'utf8')).toBe('keep')
  })

  it.each(['data/x.json', 'log/a', '../x/conf/a', '/etc/passwd', 'conf/../data/x', 'conf'])('refuses to write %s', async (path) => {
    const error = await writeRenderedFiles(dir, { [path]: 'x' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigWriteError)
    expect((error as ConfigWriteError).code).toBe('PRYV_CONFIG_PATH_REFUSED')
    expect((error as ConfigWriteError).exitCode).toBe(ExitCode.environment)
    expect(await tree(dir)).toEqual([])
  })

  it('refuses to follow a conf/ symlink into data/', async () => {
    await mkdir(join(dir, 'data'))
    await symlink(join(dir, 'data'), join(dir, 'conf'))
    const error = await writeRenderedFiles(dir, { 'conf/a.json': 'x' }).catch((e: unknown) => e)
    expect((error as ConfigWriteError).code).toBe('PRYV_CONFIG_PATH_REFUSED')
    expect(await readdir(join(dir, 'data'))).toEqual([])
  })

  it('reports a corrupt manifest with a hint instead of guessing', async () => {
    await writeFile(join(dir, MANIFEST_FILE), 'not json')
    const error = await writeRenderedFiles(dir, { 'conf/a.json': 'x' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'ConfigWriteError', code: 'PRYV_CONFIG_MANIFEST_INVALID' })
    expect((error as ConfigWriteError).hint).toContain(`delete ${join(dir, MANIFEST_FILE)}`)
  })
})

describe('plannedChanges (--dry-run)', () => {
  it('computes the same plan as a write, without writing', async () => {
    await writeRenderedFiles(dir, { 'conf/a.json': 'A', 'conf/b.json': 'B' })
    const next = { 'conf/a.json': 'A', 'conf/c.json': 'C' }
    const plan = await plannedChanges(dir, next)
    expect(plan).toEqual({ write: ['conf/c.json'], remove: ['conf/b.json'], unchanged: ['conf/a.json'] })
    expect(await tree(dir)).toEqual([MANIFEST_FILE, 'conf/a.json', 'conf/b.json'])
    const written = await writeRenderedFiles(dir, next)
    expect({ write: written.write, remove: written.remove, unchanged: written.unchanged }).toEqual(plan)
  })
})

describe('servicesToRestart', () => {
  it('names only the services whose rendered files changed', async () => {
    const api = join(dir, 'demo-api')
    const web = join(dir, 'demo-web')
    await writeRenderedFiles(api, { 'conf/api.json': '{"port":1}' })
    await writeRenderedFiles(web, { 'conf/web.yml': 'a: 1' })
    const results = {
      'demo-api': await writeRenderedFiles(api, { 'conf/api.json': '{"port":2}' }),
      'demo-web': await writeRenderedFiles(web, { 'conf/web.yml': 'a: 1' })
    }
    expect(servicesToRestart(results)).toEqual(['demo-api'])
    expect(servicesToRestart({ 'demo-web': await plannedChanges(web, {}) })).toEqual(['demo-web'])
  })
})
