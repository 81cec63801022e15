import { describe, expect, it } from 'vitest'
import {
  cryptoRandomBytes,
  describeSchema,
  effectiveSettings,
  generateMissingSecrets,
  parseSettingsYaml,
  pryvIoSchema,
  validateChange,
  validateLayer
} from '../../src/config/index.js'

describe('Pryv.io schema', () => {
  it('covers the v1 platform settings: about 70 keys in the v1 groups', () => {
    expect(pryvIoSchema.settings.size).toBeGreaterThanOrEqual(65)
    expect(pryvIoSchema.groups.map((g) => g.name)).toEqual([
      'platform',
      'machine',
      'api',
      'serviceInfo',
      'dns',
      'certs',
      'storage',
      'backup',
      'email',
      'emailTemplates',
      'mfa',
      'auth',
      'advancedApi',
      'audit',
      'observability',
      'internals'
    ])
  })

  it('needs only the domain and each node’s IP from the operator; every internal key is generated', () => {
    const base = parseSettingsYaml(pryvIoSchema, 'platform:\n  domain: pryv.example.com\n', 'base.yml')
    expect(base.problems).toEqual([])
    const init = generateMissingSecrets(pryvIoSchema, base.values, cryptoRandomBytes)
    expect(init.generated).toEqual([
      'internals.registerAdminKey',
      'internals.registerSystemKey',
      'internals.coreSystemKey',
      'internals.coreMailKey',
      'internals.ssoCookieSignSecret',
      'internals.filesReadTokenSecret',
      'internals.adminTokenSecret'
    ])
    // Generated values satisfy the keys' own constraints (registerAdminKey: 20–50 alphanumerics).
    expect(validateLayer(pryvIoSchema, 'platform', init.values)).toEqual([])
    const eff = effectiveSettings(pryvIoSchema, { platform: init.values, machine: { 'machine.publicIp': '203.0.113.7' } })
    expect(eff.missing).toEqual([])
    expect(effectiveSettings(pryvIoSchema, { platform: init.values }).missing).toEqual(['machine.publicIp'])
  })

  it('tells how to set a missing per-machine value', () => {
    const current = { platform: { 'platform.domain': 'pryv.example.com' }, machines: { n1: { 'machine.publicIp': '203.0.113.7' } } }
    const result = validateChange(pryvIoSchema, current, { target: { kind: 'machine', nodeId: 'n1' }, unset: ['machine.publicIp'] })
    expect(result.ok ? [] : result.problems.map((p) => [p.code, p.message, p.hint])).toEqual([
      ['PRYV_SETTING_REQUIRED', "'machine.publicIp' is required and has no value (on node n1)", 'set it: `pryv-node config set --machine NODE machine.publicIp=VALUE`']
    ])
  })

  it('has no REPLACE_ME and no secret defaults, and marks secrets in the help text', () => {
    const text = describeSchema(pryvIoSchema)
    expect(text).not.toContain('REPLACE_ME')
    for (const s of pryvIoSchema.settings.values()) if (s.def.secret) expect(s.def.default ?? null).toBeNull()
    expect(text).toContain('  internals.coreSystemKey  string  [platform-wide; secret, generated at init]')
    expect(text).toContain('  email.smtpPassword  string or null  [platform-wide; secret]')
  })

  it('suggests the right key for a typo', () => {
    const result = validateChange(pryvIoSchema, { platform: {}, machines: {} }, { target: { kind: 'platform' }, set: { 'dns.ttll': '60' }, input: 'text' })
    expect(result.ok ? [] : result.problems.map((p) => p.message)).toEqual(["unknown setting 'dns.ttll' — did you mean 'dns.ttl'?"])
  })

  it('lets audit settings differ per node but not the domain', () => {
    const current = { platform: { 'platform.domain': 'pryv.example.com' }, machines: { hospital: {} } }
    const audit = validateChange(pryvIoSchema, current, { target: { kind: 'machine', nodeId: 'hospital' }, set: { 'audit.syslogLevel': 'info' } })
    expect(audit.ok).toBe(true)
    const domain = validateChange(pryvIoSchema, current, { target: { kind: 'machine', nodeId: 'hospital' }, set: { 'platform.domain': 'h.example.com' } })
    expect(domain.ok ? [] : domain.problems.map((p) => p.code)).toEqual(['PRYV_SETTING_SCOPE'])
  })
})
