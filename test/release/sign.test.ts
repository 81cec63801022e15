import { generateKeyPairSync } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parse, stringify } from 'yaml'
import { canonicalJson } from '../../src/canonical-json.js'
import {
  generateSigningKeys,
  loadRelease,
  type ReleaseRecord,
  releaseDigest,
  SIGNATURE_FILE,
  signatureFileText,
  signRelease,
  verifyRelease
} from '../../src/release/index.js'
import { cleanupTempDirs } from '../support/cli.js'
import { copyBundle, DEMO, DEMO_1_1, editYaml } from './helpers.js'

afterAll(cleanupTempDirs)

/** Reverses the key order of every map, at every depth. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed)
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]))
  return value
}

describe('digest', () => {
  it('canonical JSON sorts keys at every depth and leaves out undefined fields', () => {
    expect(canonicalJson({ b: [{ d: 1, c: undefined, a: null }], a: 'x' })).toBe('{"a":"x","b":[{"a":null,"d":1}]}')
  })

  it('is the same for the same content, whatever the order of keys in the files, and a bundle\'s digest is stable', async () => {
    const dir = copyBundle(DEMO_1_1)
    for (const file of ['release.yaml', 'schema.yaml', 'migrations/1.0.0-to-1.1.0.yaml']) {
      writeFileSync(join(dir, file), stringify(reversed(parse(readFileSync(join(dir, file), 'utf8')))))
    }
    const original = (await loadRelease(DEMO_1_1)).record
    const reordered = (await loadRelease(dir)).record
    expect(Object.keys(reordered.schema.groups)).toEqual(Object.keys(original.schema.groups).reverse())
    expect(reordered.digest).toBe(original.digest)
    expect(releaseDigest(reordered)).toBe(reordered.digest)
    expect(reordered.digest).toMatch(/^[0-9a-f]{64}$/)
  })

  it('changes with any content: a value, a template, a file, a migration', async () => {
    const base = (await loadRelease(DEMO)).record
    const variants: ReleaseRecord[] = [
      { ...base, description: 'other' },
      { ...base, files: { ...base.files, 'files/x.txt': '' } },
      { ...base, templates: base.templates.slice(1) },
      { ...base, migrations: [{ from: '0.9.0', to: '1.0.0', steps: [] }] }
    ]
    const digests = new Set([base, ...variants].map(releaseDigest))
    expect(digests.size).toBe(5)
    // The signature and the digest itself are not part of what is digested.
    expect(releaseDigest({ ...base, digest: 'x', signature: { keyId: 'k', value: 'v' } })).toBe(base.digest)
  })
})

describe('signatures', () => {
  const publisher = generateSigningKeys()
  const stranger = generateSigningKeys()

  it('a signed release verifies against its publisher\'s key and names it', async () => {
    const { record } = await loadRelease(DEMO)
    const signed = signRelease(record, publisher.privateKeyPem)
    expect(signed.signature!.keyId).toBe(publisher.keyId)
    expect(signed.digest).toBe(record.digest)
    expect(verifyRelease(signed, [stranger.publicKeyPem, publisher.publicKeyPem])).toEqual({ keyId: publisher.keyId })
  })

  it('detects changed content, a changed digest, an unknown key and a missing signature', async () => {
    const signed = signRelease((await loadRelease(DEMO)).record, publisher.privateKeyPem)
    const tampered = { ...signed, files: { ...signed.files, 'files/demo-service.mjs': 'process.exit(1)' } }
    expect(() => verifyRelease(tampered, [publisher.publicKeyPem])).toThrow(expect.objectContaining({
      code: 'PRYV_RELEASE_DIGEST_MISMATCH',
      message: expect.stringContaining('release demo 1.0.0: its content does not match its digest'),
      hint: 'load the release again from its bundle; if the bundle itself was changed, get it again from its publisher'
    }))
    const redigested = { ...tampered, digest: releaseDigest(tampered) }
    expect(() => verifyRelease(redigested, [publisher.publicKeyPem])).toThrow(expect.objectContaining({
      code: 'PRYV_RELEASE_BAD_SIGNATURE',
      message: `release demo 1.0.0: the signature of key ${publisher.keyId} does not match the release's content`
    }))
    expect(() => verifyRelease(signed, [stranger.publicKeyPem])).toThrow(expect.objectContaining({
      code: 'PRYV_RELEASE_UNTRUSTED_KEY',
      message: `release demo 1.0.0 is signed by key ${publisher.keyId}, which is not among the trusted keys (${stranger.keyId})`
    }))
    const { signature: _none, ...unsigned } = signed
    expect(() => verifyRelease(unsigned, [publisher.publicKeyPem])).toThrow(expect.objectContaining({
      code: 'PRYV_RELEASE_UNSIGNED',
      hint: 'sign the bundle with `pryv-node release sign BUNDLE-DIR --key PRIVATE.key`, or verify without --key'
    }))
  })

  it('refuses keys that are not ed25519 PEM', async () => {
    const { record } = await loadRelease(DEMO)
    expect(() => signRelease(record, 'not a key')).toThrow(expect.objectContaining({ code: 'PRYV_RELEASE_KEY_INVALID', message: expect.stringContaining('the private key is not a usable ed25519 key') }))
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    expect(() => verifyRelease(signRelease(record, publisher.privateKeyPem), [rsa])).toThrow('trusted key #1 is not a usable ed25519 key: it is a rsa key')
  })

  it('release.sig travels with the bundle, and editing a signed bundle breaks the signature', async () => {
    const dir = copyBundle()
    const signed = signRelease((await loadRelease(dir)).record, publisher.privateKeyPem)
    writeFileSync(join(dir, SIGNATURE_FILE), signatureFileText(signed.signature!))
    const loaded = (await loadRelease(dir)).record
    expect(loaded.signature).toEqual(signed.signature)
    expect(verifyRelease(loaded, [publisher.publicKeyPem]).keyId).toBe(publisher.keyId)
    editYaml(dir, 'release.yaml', (m) => { m.services['demo-api'].image = 'localhost/evil:1.0.0' })
    await expect(loadRelease(dir).then((r) => verifyRelease(r.record, [publisher.publicKeyPem]))).rejects.toMatchObject({ code: 'PRYV_RELEASE_BAD_SIGNATURE' })
  })

  it('a malformed release.sig is a bundle problem', async () => {
    const dir = copyBundle()
    writeFileSync(join(dir, SIGNATURE_FILE), 'keyId: abc\n')
    await expect(loadRelease(dir)).rejects.toMatchObject({
      code: 'PRYV_RELEASE_INVALID',
      problems: [{ file: 'release.sig', message: 'is not a signature: expected keyId (16 hex characters) and value (a base64 ed25519 signature)', fix: 'sign the bundle again with `pryv-node release sign BUNDLE-DIR --key PRIVATE.key`' }]
    })
  })
})
