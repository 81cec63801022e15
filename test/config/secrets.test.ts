import { describe, expect, it } from 'vitest'
import {
  cryptoRandomBytes,
  defineSchema,
  demoSchema,
  generateMissingSecrets,
  generateSecret,
  maskSecrets,
  pryvIoSchema,
  type RandomBytes,
  settingsFromSetArgs,
  validateChange
} from '../../src/config/index.js'

/** Deterministic stand-in for the CSPRNG: bytes 0, 1, 2, … and a record of each request. */
function counterBytes(): RandomBytes & { sizes: number[] } {
  const sizes: number[] = []
  const fn = (size: number): Uint8Array => {
    sizes.push(size)
    return Uint8Array.from({ length: size }, (_, i) => i)
  }
  return Object.assign(fn, { sizes })
}

describe('generateSecret', () => {
  it.each([
    [{ kind: 'random', bytes: 16, encoding: 'hex' } as const, '000102030405060708090a0b0c0d0e0f'],
    [{ kind: 'random', bytes: 16, encoding: 'base64url' } as const, 'AAECAwQFBgcICQoLDA0ODw'],
    [{ kind: 'uuid' } as const, '00010203-0405-4607-8809-0a0b0c0d0e0f']
  ])('%o', (generator, expected) => {
    expect(generateSecret(generator, counterBytes())).toBe(expected)
  })

  it('uses the real CSPRNG in production: two secrets differ and have the requested size', () => {
    const a = generateSecret({ kind: 'random', bytes: 32, encoding: 'base64url' }, cryptoRandomBytes)
    const b = generateSecret({ kind: 'random', bytes: 32, encoding: 'base64url' }, cryptoRandomBytes)
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(a).not.toBe(b)
  })
})

describe('generateMissingSecrets', () => {
  it('fills only generated secrets that have no value, from the injected source', () => {
    const rng = counterBytes()
    const result = generateMissingSecrets(demoSchema, { 'api.port': 1 }, rng)
    expect(result.generated).toEqual(['api.sessionSecret'])
    expect(result.values).toEqual({ 'api.port': 1, 'api.sessionSecret': Buffer.from(rng(32)).toString('base64url') })
    expect(rng.sizes[0]).toBe(32)
  })

  it('keeps secrets already given (e.g. in base.yml) and leaves non-generated secrets to the operator', () => {
    const schema = defineSchema({
      name: 't',
      groups: {
        g: {
          title: 'G',
          settings: {
            key: { type: 'string', secret: true, generate: { kind: 'uuid' }, description: 'k', scope: 'platform', consumers: ['s'] },
            smtpPassword: { type: 'string', secret: true, nullable: true, default: null, description: 'p', scope: 'platform', consumers: ['s'] }
          }
        }
      }
    })
    const rng = counterBytes()
    const result = generateMissingSecrets(schema, { 'g.key': 'given' }, rng)
    expect(result).toEqual({ values: { 'g.key': 'given' }, generated: [] })
    expect(rng.sizes).toEqual([])
  })
})

describe('maskSecrets', () => {
  it('hides set secrets, keeps null and other values', () => {
    expect(maskSecrets(demoSchema, { 'api.sessionSecret': 'abc', 'api.port': 1, 'unknown.key': 'x' })).toEqual({
      'api.sessionSecret': '••••',
      'api.port': 1,
      'unknown.key': 'x'
    })
  })
})

describe('secret values in problems', () => {
  it('never appear in validation messages', () => {
    const result = validateChange(pryvIoSchema, { platform: {}, machines: {} }, {
      target: { kind: 'platform' },
      set: { 'internals.registerAdminKey': 'short-s3cr3t!', 'mfa.endpoints': Number.NaN }
    })
    expect(result.ok ? [] : result.problems.map((p) => p.message)).toEqual([
      "'internals.registerAdminKey' must match /[A-Za-z0-9]{20,50}/, got ••••",
      "'mfa.endpoints' must be a JSON value, got ••••"
    ])
    const cli = settingsFromSetArgs(pryvIoSchema, ['mfa.endpoints={s3cr3t'])
    expect(cli.problems.map((p) => p.message)).toEqual(["'mfa.endpoints' expects JSON (json), got ••••"])
  })
})
