// biome-ignore-all lint/suspicious/noTemplateCurlyInString: strings are pryv templates.
import { describe, expect, it } from 'vitest'
import { ExitCode, OperatorError } from '../../src/errors.js'
import {
  applyChange,
  type ChangeValidation,
  defineSchema,
  demoSchema,
  demoTemplates,
  formatProblem,
  type PlatformSettings,
  SettingsInvalidError,
  type ServiceTemplates,
  validateChange,
  validateLayer
} from '../../src/config/index.js'

const current: PlatformSettings = {
  platform: { 'api.sessionSecret': 'secret-value-1', 'api.port': 3000 },
  machines: { n1: { 'machine.listenIp': '10.0.0.1' }, n2: {} }
}

function problems(result: ChangeValidation): string[] {
  expect(result.ok).toBe(false)
  return result.ok ? [] : result.problems.map(formatProblem)
}

describe('validateChange', () => {
  it('accepts a platform change, returns the typed change, the next state and a masked diff', () => {
    const result = validateChange(
      demoSchema,
      current,
      { target: { kind: 'platform' }, set: { 'api.port': '8080', 'api.sessionSecret': 'secret-value-2' }, input: 'text' },
      { templates: demoTemplates }
    )
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.change).toEqual({ target: { kind: 'platform' }, set: { 'api.port': 8080, 'api.sessionSecret': 'secret-value-2' } })
    expect(result.next.platform['api.port']).toBe(8080)
    expect(result.next.machines).toBe(current.machines)
    expect(result.diff).toEqual([
      { key: 'api.port', from: 3000, to: 8080, secret: false },
      { key: 'api.sessionSecret', from: '••••', to: '••••', secret: true }
    ])
  })

  it('accepts a machine override of a key whose scope allows it', () => {
    const result = validateChange(demoSchema, current, { target: { kind: 'machine', nodeId: 'n2' }, set: { 'api.logLevel': 'debug' } })
    expect(result.ok && result.next.machines.n2).toEqual({ 'api.logLevel': 'debug' })
  })

  it('returns a typed change that applyChange replays to the same state on every node', () => {
    const result = validateChange(demoSchema, current, {
      target: { kind: 'machine', nodeId: 'n1' },
      set: { 'api.port': '4000' },
      unset: ['machine.listenIp'],
      input: 'text'
    })
    expect(result.ok).toBe(true)
    if (!result.ok) return
    expect(result.change).toEqual({ target: { kind: 'machine', nodeId: 'n1' }, set: { 'api.port': 4000 }, unset: ['machine.listenIp'] })
    const replayed = applyChange(current, JSON.parse(JSON.stringify(result.change)))
    expect(replayed).toEqual(result.next)
    expect(replayed.machines.n1).toEqual({ 'api.port': 4000 })
    expect(replayed.platform).toBe(current.platform)
    expect(current.machines.n1).toEqual({ 'machine.listenIp': '10.0.0.1' })
  })

  it('reports every problem at once with operator-facing messages', () => {
    const result = validateChange(demoSchema, current, {
      target: { kind: 'platform' },
      set: { 'api.prot': 80, 'api.port': '8080', 'platform.domain': 'not a host', 'machine.listenIp': '10.0.0.9', 'zzz.qqq': 1 },
      unset: ['api.logLevl']
    })
    expect(problems(result)).toEqual([
      "unknown setting 'api.prot' — did you mean 'api.port'?",
      '\'api.port\' must be a port number, got "8080"',
      '\'platform.domain\' must be a hostname, got "not a host"',
      "'machine.listenIp' is machine-specific and cannot be set platform-wide",
      "unknown setting 'zzz.qqq'",
      "unknown setting 'api.logLevl' — did you mean 'api.logLevel'?"
    ])
    if (!result.ok) {
      expect(result.problems.map((p) => p.code)).toEqual([
        'PRYV_SETTING_UNKNOWN',
        'PRYV_SETTING_INVALID_TYPE',
        'PRYV_SETTING_CONSTRAINT',
        'PRYV_SETTING_SCOPE',
        'PRYV_SETTING_UNKNOWN',
        'PRYV_SETTING_UNKNOWN'
      ])
      expect(result.problems[3]!.hint).toBe('set it for one node: `pryv-node config set --machine NODE machine.listenIp=VALUE`')
    }
  })

  it('refuses a machine override of a platform-only key', () => {
    const result = validateChange(demoSchema, current, { target: { kind: 'machine', nodeId: 'n1' }, set: { 'platform.domain': 'other.io' } })
    expect(problems(result)).toEqual(["'platform.domain' is platform-wide and cannot be overridden on one machine"])
    if (!result.ok) expect(result.problems[0]!.hint).toBe('change it for the whole platform: `pryv-node config set platform.domain=VALUE`')
  })

  it('refuses text that does not coerce, and a key both set and unset', () => {
    expect(problems(validateChange(demoSchema, current, { target: { kind: 'platform' }, set: { 'api.port': 'eighty' }, input: 'text' }))).toEqual([
      '\'api.port\' must be an integer, got "eighty"'
    ])
    expect(problems(validateChange(demoSchema, current, { target: { kind: 'platform' }, set: { 'api.port': 1 }, unset: ['api.port'] }))).toEqual([
      "'api.port' is both set and unset in one change"
    ])
  })

  it('refuses unsetting a required value', () => {
    const result = validateChange(demoSchema, current, { target: { kind: 'platform' }, unset: ['api.sessionSecret'] })
    expect(problems(result)).toEqual(["'api.sessionSecret' is required and has no value (on nodes n1, n2)"])
    if (!result.ok) expect(result.problems[0]).toMatchObject({ code: 'PRYV_SETTING_REQUIRED', hint: 'generated secrets are created by `pryv-node init-platform`' })
  })

  it('refuses a change that makes a template fail to render on one node, naming node, service and file', () => {
    const schema = defineSchema({
      name: 'mail',
      groups: {
        mail: {
          title: 'Mail',
          settings: {
            smtp: { type: 'json', default: { host: 'smtp.io', port: 25 }, description: 'SMTP', scope: 'both', consumers: ['mailer'] }
          }
        }
      }
    })
    const mailer: ServiceTemplates = {
      service: 'mailer',
      files: [{ path: 'conf/mail.json', content: '{"host": "${mail.smtp.host}", "port": {"$setting": "mail.smtp"}}' }]
    }
    const state: PlatformSettings = { platform: {}, machines: { n1: {}, n2: {} } }
    const breaking = validateChange(schema, state, { target: { kind: 'machine', nodeId: 'n2' }, set: { 'mail.smtp': { port: 587 } } }, { templates: [mailer] })
    expect(problems(breaking)).toEqual(["change would break rendering: mailer/conf/mail.json: setting 'mail.smtp.host' has no value (on node n2)"])
    if (!breaking.ok) expect(breaking.problems[0]).toMatchObject({ code: 'PRYV_SETTING_BREAKS_RENDER', key: 'mail.smtp' })
    // The same change is fine without templates, and a value that keeps the field renders.
    expect(validateChange(schema, state, { target: { kind: 'machine', nodeId: 'n2' }, set: { 'mail.smtp': { port: 587 } } }).ok).toBe(true)
    expect(
      validateChange(schema, state, { target: { kind: 'platform' }, set: { 'mail.smtp': { host: 'mx.io' } } }, { templates: [mailer] }).ok
    ).toBe(true)
  })

  it('blames only problems the change introduces, per node', () => {
    const perNode: ServiceTemplates = {
      service: 'web',
      files: [{ path: 'conf/w.json', content: '{"site": "${platform.name}", "tls": "${machine.listenIp}"}' }]
    }
    // Before the change the secret is missing (reported as required, not as a render failure);
    // once set, the template reads a field of a string: a new failure the change is blamed for.
    const fieldOfString: ServiceTemplates = {
      service: 'api',
      files: [{ path: 'conf/a.json', content: '{"x": "${api.sessionSecret.part}"}' }]
    }
    const state: PlatformSettings = { platform: {}, machines: { n1: {}, n2: {} } }
    const result = validateChange(
      demoSchema,
      state,
      { target: { kind: 'platform' }, set: { 'api.sessionSecret': 'now-set' } },
      { templates: [perNode, fieldOfString] }
    )
    expect(problems(result)).toEqual(["change would break rendering: api/conf/a.json: setting 'api.sessionSecret.part' has no value (on nodes n1, n2)"])
    if (!result.ok) expect(result.problems[0]!.code).toBe('PRYV_SETTING_BREAKS_RENDER')
  })

  it('with no node known yet, checks a node without overrides', () => {
    const result = validateChange(demoSchema, { platform: { 'api.sessionSecret': 's' }, machines: {} }, { target: { kind: 'platform' }, unset: ['api.sessionSecret'] })
    expect(problems(result)).toEqual(["'api.sessionSecret' is required and has no value"])
  })
})

describe('validateLayer and SettingsInvalidError', () => {
  it('checks a whole layer and formats problems for an operator', () => {
    const found = validateLayer(demoSchema, 'base', { 'api.port': 0, 'machine.listenIp': '1.2.3.4' })
    const error = new SettingsInvalidError(found)
    expect(error.code).toBe('PRYV_SETTINGS_INVALID')
    // The CLI reporter prints any OperatorError as code, message and hint, with its exit code.
    expect(error).toBeInstanceOf(OperatorError)
    expect(error.exitCode).toBe(ExitCode.invalidInput)
    expect(error.toJSON().details).toEqual({ problems: found })
    expect(error.message).toBe(
      "2 settings problems:\n  'api.port' must be between 1 and 65535, got 0\n  'machine.listenIp' is machine-specific and cannot be set platform-wide"
    )
    expect(error.hint).toContain('--machine NODE')
  })
})
