import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, runCli, tempDir } from '../support/cli.js'
import { copyBundle, DEMO, DEMO_1_1, editYaml, pack } from './helpers.js'

// The CLI runs from dist/: `npm run build` first (npm test does).
afterAll(cleanupTempDirs)

describe('pryv-node release verify', () => {
  it('prints what the bundle holds: services, migrations, digest, signature status', async () => {
    const r = await runCli(['release', 'verify', DEMO_1_1])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^release {4}demo 1\.1\.0 — Demo platform 1\.1\.0 \(test fixture with a settings migration\)\n/)
    expect(r.stdout).toContain('signature  none (unsigned)\n')
    expect(r.stdout).toMatch(/digest {5}[0-9a-f]{64}\n/)
    expect(r.stdout).toContain('demo-web  localhost/pryv-demo:1.0.0  {node} {release}/files/demo-service.mjs  demo-api    sw\n')
    expect(r.stdout).toContain('migrations\n  1.0.0 → 1.1.0: rename platform.name → platform.title; code: CORS origins in lower case, without a trailing slash, each once\n')
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('ok: the bundle is valid')
  })

  it('--json, from a .tgz', async () => {
    const r = await runCli(['release', 'verify', await pack(DEMO), '--json'])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({ name: 'demo', version: '1.0.0', signature: { status: 'unsigned' }, source: { kind: 'archive' }, settings: { groups: 3, keys: 7 }, migrations: [] })
    expect(out.services.map((s: { name: string }) => s.name)).toEqual(['demo-api', 'demo-web'])
  })

  it('exits 3 listing every problem of a bad bundle, with the hint; --json gives them as data', async () => {
    const dir = copyBundle()
    editYaml(dir, 'release.yaml', (m) => {
      m.services['demo-api'].image = 'pryvio/demo'
      m.services['demo-web'].dependsOn = ['demo-db']
    })
    const r = await runCli(['release', 'verify', dir])
    expect(r.code).toBe(3)
    expect(r.stdout).toBe('')
    expect(r.stderr).toBe([
      `error PRYV_RELEASE_INVALID: release bundle ${dir} has 2 problems:`,
      "  release.yaml services.demo-api.image: 'pryvio/demo' has no tag: it is not pinned — pin a version, e.g. pryvio/demo:1.2.3, or a digest (pryvio/demo@sha256:…)",
      "  release.yaml services.demo-web.dependsOn: unknown service 'demo-db' — did you mean 'demo-web'? — list services of this release (demo-api, demo-web)",
      `  hint: fix each problem in the file named before it, then check again with \`pryv-node release verify ${dir}\``,
      ''
    ].join('\n'))
    const json = await runCli(['release', 'verify', dir, '--json'])
    expect(json.code).toBe(3)
    expect(JSON.parse(json.stdout).error.details.problems).toHaveLength(2)
  })

  it('exits 3 for a path that is not there', async () => {
    const r = await runCli(['release', 'verify', '/nonexistent/demo.tgz'])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('error PRYV_RELEASE_NOT_FOUND: no release bundle at /nonexistent/demo.tgz: the path does not exist')
  })
})

describe('pryv-node release keygen, sign, verify --key', () => {
  it('signs a bundle, and verify checks it against trusted keys only', async () => {
    const keys = join(tempDir('pn-keys-'), 'keys')
    const gen = await runCli(['release', 'keygen', keys, '--json'])
    expect(gen.code).toBe(0)
    const { keyId, privateKey, publicKey } = JSON.parse(gen.stdout)
    expect(statSync(privateKey).mode & 0o777).toBe(0o600)
    expect(readFileSync(publicKey, 'utf8')).toMatch(/^-----BEGIN PUBLIC KEY-----\n/)
    const again = await runCli(['release', 'keygen', keys])
    expect(again.code).toBe(4)
    expect(again.stderr).toContain(`error PRYV_RELEASE_KEY_EXISTS: ${keys} already holds a release signing key`)

    const dir = copyBundle()
    const sign = await runCli(['release', 'sign', dir, '--key', privateKey])
    expect(sign.stderr).toBe('')
    expect(sign.stdout).toMatch(new RegExp(`^signed demo 1\\.0\\.0 \\(digest [0-9a-f]{64}\\) with key ${keyId}: wrote ${join(dir, 'release.sig')}\\n$`))

    expect((await runCli(['release', 'verify', dir])).stdout).toContain(`signature  signed by key ${keyId}, not checked (give --key PUBLIC.pub to check it)\n`)
    const ok = await runCli(['release', 'verify', dir, '--key', publicKey])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain(`signature  valid, by trusted key ${keyId}\n`)
    const fromTgz = await runCli(['release', 'verify', await pack(dir), '--key', publicKey, '--json'])
    expect(JSON.parse(fromTgz.stdout).signature).toEqual({ status: 'valid', keyId })

    const other = join(tempDir('pn-keys-'), 'other')
    const otherPub = JSON.parse((await runCli(['release', 'keygen', other, '--json'])).stdout).publicKey
    const untrusted = await runCli(['release', 'verify', dir, '--key', otherPub])
    expect(untrusted.code).toBe(3)
    expect(untrusted.stderr).toContain(`error PRYV_RELEASE_UNTRUSTED_KEY: release demo 1.0.0 is signed by key ${keyId}, which is not among the trusted keys`)

    editYaml(dir, 'release.yaml', (m) => { m.services['demo-api'].image = 'localhost/other:1.0.0' })
    const tampered = await runCli(['release', 'verify', dir, '--key', publicKey])
    expect(tampered.code).toBe(3)
    expect(tampered.stderr).toContain(`error PRYV_RELEASE_BAD_SIGNATURE: release demo 1.0.0: the signature of key ${keyId} does not match the release's content`)

    const unsigned = await runCli(['release', 'verify', DEMO, '--key', publicKey])
    expect(unsigned.code).toBe(3)
    expect(unsigned.stderr).toContain('error PRYV_RELEASE_UNSIGNED: release demo 1.0.0 is not signed, and a signature is required')
  })

  it('signs only directories, with a readable private key', async () => {
    const tgz = await runCli(['release', 'sign', await pack(DEMO), '--key', '/nonexistent.key'])
    expect(tgz.code).toBe(3)
    expect(tgz.stderr).toContain('is not a release bundle: only a bundle directory can be signed')
    const noKey = await runCli(['release', 'sign', copyBundle(), '--key', '/nonexistent.key'])
    expect(noKey.code).toBe(3)
    expect(noKey.stderr).toContain('error PRYV_RELEASE_KEY_UNREADABLE: Cannot read the private key file /nonexistent.key')
    const missingOption = await runCli(['release', 'sign', copyBundle()])
    expect(missingOption.code).toBe(2)
    expect(missingOption.stderr).toContain("required option '--key <private.pem>' not specified")
  })
})

describe('help', () => {
  it.each([
    ['verify', 'Check a release bundle'],
    ['keygen', 'Create an ed25519 key pair'],
    ['sign', 'Sign a bundle directory']
  ])('release %s --help', async (command, text) => {
    const r = await runCli(['release', command, '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(text)
    expect(r.stdout).toContain('Example')
  })
})
