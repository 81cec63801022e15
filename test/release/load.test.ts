import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tar from 'tar'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { demoSchemaDef, demoTemplates, effectiveSettings, pryvIoSchemaDef, renderServices } from '../../src/config/index.js'
import { compileRelease, loadRelease, NODE_SETTINGS_GROUPS } from '../../src/release/index.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'
import { copyBundle, DEMO, DEMO_1_1, DEMO_1_2_UNHEALTHY, pack, PRYV_IO, writeText } from './helpers.js'

afterAll(cleanupTempDirs)

describe('the shipped releases', () => {
  it('demo 1.0.0 is today\'s built-in demo: same schema, same rendered files, both services', async () => {
    const { record, source } = await loadRelease(DEMO)
    expect(source).toEqual({ path: DEMO, kind: 'directory' })
    expect([record.name, record.version]).toEqual(['demo', '1.0.0'])
    expect(record.schema).toEqual(demoSchemaDef)
    const values = effectiveSettings(compileRelease(record).schema, { platform: { 'api.sessionSecret': 's', 'api.corsOrigins': ['https://a.example'] } }).values
    expect(renderServices(record.templates, values)).toEqual(renderServices(demoTemplates, values))
    expect(record.services.map((s) => [s.name, s.image, s.command, s.args])).toEqual([
      ['demo-api', 'localhost/pryv-demo:1.0.0', '{node}', ['{release}/files/demo-service.mjs']],
      ['demo-web', 'localhost/pryv-demo:1.0.0', '{node}', ['{release}/files/demo-service.mjs']]
    ])
    expect(Object.keys(record.files)).toEqual(['files/demo-service.mjs'])
    // Today's weighted DNS names, and no listening port: many nodes share one machine in tests.
    expect(record.services.flatMap((s) => s.dnsNames ?? []).sort()).toEqual(['access', 'mail', 'mfa', 'reg', 'sw'])
    expect(record.services.every((s) => s.ports === undefined)).toBe(true)
    expect(record.migrations).toEqual([])
  })

  it('pryv-io: the schema of src/config/schemas/pryv-io.ts without the node\'s groups (dns, storage, backup), pinned images, the reserved DNS names', async () => {
    const { record } = await loadRelease(PRYV_IO)
    const groups = Object.fromEntries(Object.entries(pryvIoSchemaDef.groups).filter(([name]) => !Object.hasOwn(NODE_SETTINGS_GROUPS, name)))
    expect(record.schema).toEqual({ ...pryvIoSchemaDef, groups })
    // With the node's groups added back, the compiled schema is the TS one, in the same group order.
    expect(compileRelease(record).schema.settings.size).toBe(Object.values(pryvIoSchemaDef.groups).reduce((n, g) => n + Object.keys(g.settings).length, 0))
    // No register or redis: the user registry is the node's own (issue 16).
    expect(record.services.map((s) => s.name)).toEqual(['admin', 'app-web-auth', 'core', 'hfs', 'influxdb', 'mail', 'mfa', 'mongodb', 'preview', 'reverse-proxy', 'webhooks'])
    for (const s of record.services) expect(s.image).toMatch(/^docker\.io\/[a-z0-9/-]+:\d+\.\d+\.\d+$/)
    expect(record.services.flatMap((s) => s.dnsNames ?? []).sort()).toEqual(['access', 'adm', 'mail', 'mfa', 'reg', 'sw'])
    expect(record.templates.map((t) => t.service)).toEqual(['admin', 'app-web-auth', 'core', 'mail', 'reverse-proxy'])
  })

  it('the fixtures: demo 1.1.0 with a migration from 1.0.0, and 1.2.0 whose demo-api never becomes healthy', async () => {
    const v11 = (await loadRelease(DEMO_1_1)).record
    expect(v11.version).toBe('1.1.0')
    expect(v11.migrations.map((m) => [m.from, m.to, m.steps.map((s) => s.op)])).toEqual([['1.0.0', '1.1.0', ['rename', 'code']]])
    const v12 = (await loadRelease(DEMO_1_2_UNHEALTHY)).record
    expect(v12.migrations.map((m) => `${m.from}-to-${m.to}`)).toEqual(['1.0.0-to-1.1.0', '1.1.0-to-1.2.0'])
    expect(v12.services.find((s) => s.name === 'demo-api')!.health!.probe).toEqual({ kind: 'command', command: 'sh', args: ['-c', 'exit 1'] })
  })

  it('a code step may keep its body in a .js file beside the migration', async () => {
    const dir = copyBundle(DEMO_1_1)
    writeText(dir, 'migrations/1.0.0-to-1.1.0.yaml', 'from: 1.0.0\nto: 1.1.0\nsteps:\n  - { op: rename, from: platform.name, to: platform.title }\n  - { op: code, description: trim, file: trim.js }\n')
    writeText(dir, 'migrations/trim.js', 'return values\n')
    const { record } = await loadRelease(dir)
    expect(record.migrations[0]!.steps[1]).toEqual({ op: 'code', description: 'trim', source: 'return values\n' })
  })
})

describe('archives', () => {
  let tmp: string
  let savedTmpdir: string | undefined
  beforeEach(() => {
    // Extraction goes to os.tmpdir(): a fresh one per test shows what is left behind.
    savedTmpdir = process.env.TMPDIR
    tmp = tempDir('pn-tmp-')
    process.env.TMPDIR = tmp
  })
  afterEach(() => {
    expect(readdirSync(tmp).filter((name) => name.startsWith('pryv-release-'))).toEqual([])
    if (savedTmpdir === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = savedTmpdir
  })

  it('a .tgz of the bundle directory, or of its content, gives the same release as the directory', async () => {
    const fromDir = await loadRelease(DEMO_1_1)
    for (const atRoot of [false, true]) {
      const file = await pack(DEMO_1_1, { atRoot })
      const fromTgz = await loadRelease(file)
      expect(fromTgz.source).toEqual({ path: file, kind: 'archive' })
      expect(fromTgz.record).toEqual(fromDir.record)
    }
  })

  it('an invalid bundle in an archive lists its problems, and the extraction is removed', async () => {
    const dir = copyBundle()
    writeText(dir, 'release.yaml', 'name: demo\nversion: x\nservices: {}\n')
    await expect(loadRelease(await pack(dir))).rejects.toMatchObject({ code: 'PRYV_RELEASE_INVALID' })
  })

  it('refuses entries that leave the bundle, links and devices, before extracting anything', async () => {
    const src = tempDir('pn-src-')
    mkdirSync(join(src, 'demo'))
    writeFileSync(join(src, 'demo/release.yaml'), 'name: demo\n')
    writeFileSync(join(src, 'outside'), 'x')
    symlinkSync('/etc/passwd', join(src, 'demo/passwd'))
    const file = join(tempDir('pn-tgz-'), 'evil.tgz')
    await tar.c({ gzip: true, file, cwd: join(src, 'demo'), preservePaths: true }, ['release.yaml', '../outside', 'passwd', `${src}/outside`])
    await expect(loadRelease(file)).rejects.toMatchObject({
      code: 'PRYV_RELEASE_ARCHIVE_UNSAFE',
      problems: ['../outside: path leaves the bundle (..)', 'passwd: a link, not a file or directory', `${src}/outside: absolute path`]
    })
  })

  it('refuses archives larger than the limits', async () => {
    await expect(loadRelease(await pack(DEMO), { maxBytes: 1000 })).rejects.toMatchObject({ code: 'PRYV_RELEASE_ARCHIVE_UNSAFE', message: expect.stringMatching(/bytes once extracted, more than the limit of 1000/) })
    await expect(loadRelease(await pack(DEMO), { maxFiles: 3 })).rejects.toMatchObject({ code: 'PRYV_RELEASE_ARCHIVE_UNSAFE', message: expect.stringMatching(/entries, more than the limit of 3/) })
  })

  it('an archive without release.yaml at its root or in its one directory is not a bundle', async () => {
    const src = tempDir('pn-src-')
    mkdirSync(join(src, 'a'))
    mkdirSync(join(src, 'b'))
    writeFileSync(join(src, 'a/release.yaml'), 'x')
    const file = join(tempDir('pn-tgz-'), 'two.tgz')
    await tar.c({ gzip: true, file, cwd: src }, ['a', 'b'])
    await expect(loadRelease(file)).rejects.toMatchObject({ code: 'PRYV_RELEASE_NOT_A_BUNDLE', hint: 'pack the bundle directory itself, e.g. `tar -czf bundle.tgz -C releases demo`' })
  })
})

describe('what is not a bundle', () => {
  it('a path that does not exist', async () => {
    await expect(loadRelease('/nonexistent/bundle.tgz')).rejects.toMatchObject({
      code: 'PRYV_RELEASE_NOT_FOUND',
      exitCode: 3,
      message: 'no release bundle at /nonexistent/bundle.tgz: the path does not exist',
      hint: 'give the path of a bundle directory (holding release.yaml) or of a .tgz of one'
    })
  })

  it('a file that is not a gzipped tar', async () => {
    const file = join(tempDir('pn-file-'), 'release.yaml')
    writeFileSync(file, 'name: demo\n')
    await expect(loadRelease(file)).rejects.toMatchObject({ code: 'PRYV_RELEASE_NOT_A_BUNDLE', message: expect.stringContaining(`${file} is not a release bundle: it is neither a directory nor a readable .tgz`) })
  })

  it('a directory bigger than the limits', async () => {
    await expect(loadRelease(DEMO, { maxFiles: 2 })).rejects.toMatchObject({ code: 'PRYV_RELEASE_INVALID', message: expect.stringContaining('.: holds more than 2 files or') })
  })
})
