import { describe, expect, it } from 'vitest'
import { defineSchema, demoSchema, demoSchemaDef, effectiveSettings, explain, type SettingsLayers, SettingsInvalidError } from '../../src/config/index.js'
import { platformSchemaDef } from '../../src/release/compile.js'

describe('effectiveSettings', () => {
  // api.port has scope both: every layer may set it; the highest set layer wins.
  it.each<[string, SettingsLayers, number, string]>([
    ['schema default', {}, 3000, 'default'],
    ['base over default', { base: { 'api.port': 3001 } }, 3001, 'base'],
    ['platform over base', { base: { 'api.port': 3001 }, platform: { 'api.port': 3002 } }, 3002, 'platform'],
    ['machine over platform', { platform: { 'api.port': 3002 }, machine: { 'api.port': 3003 } }, 3003, 'machine'],
    ['env over machine', { machine: { 'api.port': 3003 }, env: { 'api.port': 3004 } }, 3004, 'env'],
    [
      'cli over everything',
      { base: { 'api.port': 1 }, platform: { 'api.port': 2 }, machine: { 'api.port': 3 }, env: { 'api.port': 4 }, cli: { 'api.port': 3005 } },
      3005,
      'cli'
    ],
    ['a lower layer when higher ones do not set the key', { base: { 'api.port': 3001 }, env: { 'api.logLevel': 'debug' } }, 3001, 'base']
  ])('%s', (_name, layers, value, source) => {
    const eff = effectiveSettings(demoSchema, layers)
    expect(eff.values['api.port']).toBe(value)
    expect(eff.sources['api.port']).toBe(source)
  })

  it.each<[string, string, SettingsLayers, unknown, string]>([
    ['platform-only key ignores a machine override', 'platform.domain', { platform: { 'platform.domain': 'a.io' }, machine: { 'platform.domain': 'b.io' } }, 'a.io', 'platform'],
    ['platform-only key ignores env', 'platform.domain', { env: { 'platform.domain': 'b.io' } }, 'demo.pryv.local', 'default'],
    ['machine-only key ignores the platform layer', 'machine.listenIp', { platform: { 'machine.listenIp': '10.0.0.1' } }, '0.0.0.0', 'default'],
    ['machine-only key takes the machine layer', 'machine.listenIp', { machine: { 'machine.listenIp': '10.0.0.2' } }, '10.0.0.2', 'machine']
  ])('scope: %s', (_name, key, layers, value, source) => {
    const eff = effectiveSettings(demoSchema, layers)
    expect(eff.values[key]).toBe(value)
    expect(eff.sources[key]).toBe(source)
  })

  it('lists required settings without a value and replaces structured values whole', () => {
    const eff = effectiveSettings(demoSchema, {
      base: { 'api.corsOrigins': ['https://a.io', 'https://b.io'] },
      platform: { 'api.corsOrigins': ['https://c.io'] }
    })
    expect(eff.missing).toEqual(['api.sessionSecret'])
    expect(eff.sources['api.sessionSecret']).toBe('unset')
    expect(eff.values['api.corsOrigins']).toEqual(['https://c.io'])
  })
})

describe('explain', () => {
  it('no dns.port setting: the DNS server serves on the node\'s --dns option, so a setting would say what is not', () => {
    const schema = defineSchema(platformSchemaDef(demoSchemaDef))
    expect(() => explain(schema, 'dns.port', {})).toThrow(SettingsInvalidError)
    expect(() => explain(schema, 'dns.port', {})).toThrow(/unknown setting 'dns.port'/)
    // A value kept by an older platform in its log is ignored, not an error.
    expect(effectiveSettings(schema, { platform: { 'dns.port': 5353 } }).values).not.toHaveProperty('dns.port')
    expect(explain(schema, 'dns.ttl', {})).toMatchObject({ winner: 'default', value: 300 })
  })

  it('gives every layer and the winner, masking secrets', () => {
    const e = explain(demoSchema, 'api.sessionSecret', { platform: { 'api.sessionSecret': 'hunter2-hunter2' } })
    expect(e.winner).toBe('platform')
    expect(e.value).toBe('••••')
    expect(JSON.stringify(e)).not.toContain('hunter2')
    expect(explain(demoSchema, 'api.sessionSecret', { platform: { 'api.sessionSecret': 's3' } }, { reveal: true }).value).toBe('s3')
  })

  it('marks values the scope does not allow', () => {
    const e = explain(demoSchema, 'platform.domain', { platform: { 'platform.domain': 'a.io' }, machine: { 'platform.domain': 'b.io' } })
    expect(e.layers.map((l) => [l.layer, l.set, l.allowed, l.value])).toEqual([
      ['default', true, true, 'demo.pryv.local'],
      ['base', false, true, undefined],
      ['platform', true, true, 'a.io'],
      ['machine', true, false, 'b.io'],
      ['env', false, false, undefined],
      ['cli', false, false, undefined]
    ])
    expect(e.winner).toBe('platform')
  })

  it('refuses an unknown key with a suggestion', () => {
    expect(() => explain(demoSchema, 'api.prot', {})).toThrow(SettingsInvalidError)
    expect(() => explain(demoSchema, 'api.prot', {})).toThrow("unknown setting 'api.prot' — did you mean 'api.port'?")
  })
})
