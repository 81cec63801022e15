import { describe, expect, it } from 'vitest'
import { coerceText, demoSchema, type SettingDef, settingsFromEnv, settingsFromSetArgs } from '../../src/config/index.js'

const def = (spec: Partial<SettingDef>): SettingDef =>
  ({ description: 'd', scope: 'both', consumers: ['s'], ...spec }) as SettingDef

describe('coerceText', () => {
  it.each<[string, SettingDef, string, unknown]>([
    ['integer', def({ type: 'integer' }), ' 8080 ', 8080],
    ['negative integer', def({ type: 'integer' }), '-3', -3],
    ['number', def({ type: 'number' }), '0.25', 0.25],
    ['boolean yes', def({ type: 'boolean' }), 'YES', true],
    ['boolean 0', def({ type: 'boolean' }), '0', false],
    ['string kept verbatim', def({ type: 'string' }), ' a b ', ' a b '],
    ['string "null" stays a string', def({ type: 'string', nullable: true }), 'null', 'null'],
    ['null for a nullable list', def({ type: 'list', items: { type: 'string' }, nullable: true }), 'null', null],
    ['list as JSON', def({ type: 'list', items: { type: 'string' } }), '["a","b"]', ['a', 'b']],
    ['object as JSON', def({ type: 'map', values: { type: 'integer' } }), '{"a":1}', { a: 1 }]
  ])('%s', (_name, spec, text, value) => {
    expect(coerceText('g.k', spec, text)).toEqual({ ok: true, value })
  })

  it.each<[string, SettingDef, string, string]>([
    ['integer with a fraction', def({ type: 'integer' }), '1.5', '\'g.k\' must be an integer, got "1.5"'],
    ['empty number', def({ type: 'number' }), '', '\'g.k\' must be a number, got ""'],
    ['boolean', def({ type: 'boolean' }), 'maybe', '\'g.k\' must be true or false, got "maybe"'],
    ['list not JSON', def({ type: 'list', items: { type: 'string' } }), 'a,b', '\'g.k\' expects JSON (list), got "a,b"']
  ])('refuses %s', (_name, spec, text, message) => {
    expect(coerceText('g.k', spec, text)).toEqual({ ok: false, message })
  })
})

describe('settingsFromEnv', () => {
  it.each<[string, string, string, unknown]>([
    ['integer', 'PRYV_API_PORT', '8080', 8080],
    ['enum', 'PRYV_API_LOG_LEVEL', 'debug', 'debug'],
    ['machine-scoped string', 'PRYV_MACHINE_LISTEN_IP', '127.0.0.1', '127.0.0.1']
  ])('parses %s', (_name, variable, text, value) => {
    const key = demoSchema.byEnvName.get(variable)!.key
    const parsed = settingsFromEnv(demoSchema, { [variable]: text })
    expect(parsed.problems).toEqual([])
    expect(parsed.values).toEqual({ [key]: value })
  })

  it('reports bad values, platform-only keys and near-miss names; ignores unrelated variables', () => {
    const parsed = settingsFromEnv(demoSchema, {
      PRYV_API_PORT: 'http',
      PRYV_API_CORS_ORIGINS: 'https://a.io',
      PRYV_PLATFORM_DOMAIN: 'x.io',
      PRYV_API_LOGLEVEL: 'debug',
      PRYV_DATA_DIR: '/var/pryv',
      HOME: '/root'
    })
    expect(parsed.values).toEqual({})
    expect(parsed.problems.map((p) => [p.code, p.message])).toEqual([
      ['PRYV_SETTING_INVALID_TYPE', '\'api.port\' must be an integer, got "http"'],
      ['PRYV_SETTING_INVALID_TYPE', '\'api.corsOrigins\' expects JSON (list), got "https://a.io"'],
      ['PRYV_SETTING_SCOPE', "'platform.domain' is platform-wide and cannot be overridden on one machine (from the environment)"],
      ['PRYV_SETTING_UNKNOWN', "unknown environment variable 'PRYV_API_LOGLEVEL' — did you mean 'PRYV_API_LOG_LEVEL'?"]
    ])
  })
})

describe('settingsFromSetArgs', () => {
  it('parses --set key=value, keeping "=" inside values', () => {
    const parsed = settingsFromSetArgs(demoSchema, ['api.port=8080', 'machine.listenIp=::1'])
    expect(parsed).toEqual({ values: { 'api.port': 8080, 'machine.listenIp': '::1' }, problems: [] })
  })

  it('reports all problems with operator-facing text', () => {
    const parsed = settingsFromSetArgs(demoSchema, ['api.prot=80', 'api.port=99999', 'noequals', 'api.logLevel=loud'])
    expect(parsed.problems.map((p) => p.message)).toEqual([
      "unknown setting 'api.prot' — did you mean 'api.port'?",
      "'api.port' must be between 1 and 65535, got 99999",
      "'--set noequals' must have the form group.name=value",
      '\'api.logLevel\' must be one of \'error\', \'warn\', \'info\', \'debug\', got "loud"'
    ])
    expect(parsed.values).toEqual({})
  })

  it('refuses a local override of a platform-wide key', () => {
    expect(settingsFromSetArgs(demoSchema, ['platform.domain=x.io']).problems.map((p) => p.message)).toEqual([
      "'platform.domain' is platform-wide and cannot be overridden on one machine (from --set)"
    ])
  })
})
