import { describe, expect, it } from 'vitest'
import { checkMigratedSettings, compileRelease, loadRelease, type MigrationDef, migrateSettings, migrationPath, type SettingsSnapshot } from '../../src/release/index.js'
import { DEMO_1_1 } from './helpers.js'

const m = (from: string, to: string, steps: MigrationDef['steps'] = []): MigrationDef => ({ from, to, steps })
const code = (source: string, description = 'reshape'): MigrationDef => m('1.0.0', '1.1.0', [{ op: 'code', description, source }])

describe('migrationPath', () => {
  const migrations = [m('1.0.0', '1.1.0'), m('1.1.0', '1.2.0'), m('1.2.0', '2.0.0'), m('1.0.0', '1.2.0'), m('0.9.0', '1.0.0')]

  it('finds the shortest chain, and none for the same version', () => {
    expect(migrationPath(migrations, '1.0.0', '2.0.0').map((x) => `${x.from}→${x.to}`)).toEqual(['1.0.0→1.2.0', '1.2.0→2.0.0'])
    expect(migrationPath(migrations, '0.9.0', '1.1.0').map((x) => `${x.from}→${x.to}`)).toEqual(['0.9.0→1.0.0', '1.0.0→1.1.0'])
    expect(migrationPath(migrations, '1.1.0', '1.1.0')).toEqual([])
  })

  it('says which versions have no path and which migrations there are', () => {
    expect(() => migrationPath(migrations, '1.1.0', '1.0.0')).toThrow(expect.objectContaining({
      code: 'PRYV_RELEASE_NO_MIGRATION_PATH',
      exitCode: 3,
      message: 'no migration path from version 1.1.0 to 1.0.0; the release\'s migrations: 1.0.0-to-1.1.0, 1.1.0-to-1.2.0, 1.2.0-to-2.0.0, 1.0.0-to-1.2.0, 0.9.0-to-1.0.0',
      hint: 'apply an intermediate release first, or ship migrations/1.1.0-to-1.0.0.yaml (or a chain of migrations from 1.1.0) in the bundle'
    }))
    expect(() => migrationPath([], '0.1.0', '1.0.0')).toThrow('no migration path from version 0.1.0 to 1.0.0; the release\'s migrations: none')
  })
})

describe('migrateSettings: declarative steps', () => {
  const snapshot: SettingsSnapshot = {
    platform: { 'platform.name': 'Hospital', 'api.port': 3000, 'api.old': 1 },
    machines: { n1: { 'api.port': 8080, 'api.old': 2 }, n2: {} }
  }

  it('renames and removes in every layer, adds and sets defaults in the layer asked for, and says what changed where', () => {
    const before = structuredClone(snapshot)
    const { snapshot: after, changes } = migrateSettings(snapshot, [
      m('1.0.0', '1.1.0', [
        { op: 'rename', from: 'api.port', to: 'api.listenPort' },
        { op: 'remove', key: 'api.old' },
        { op: 'add', key: 'api.timeoutMs', value: 500 },
        { op: 'set-default', key: 'platform.name', value: 'Demo' },
        { op: 'set-default', key: 'machine.zone', value: 'a', layer: 'machines' }
      ]),
      m('1.1.0', '1.2.0', [{ op: 'add', key: 'api.timeoutMs', value: 1000 }])
    ])
    expect(after).toEqual({
      platform: { 'platform.name': 'Hospital', 'api.listenPort': 3000, 'api.timeoutMs': 1000 },
      machines: { n1: { 'api.listenPort': 8080, 'machine.zone': 'a' }, n2: { 'machine.zone': 'a' } }
    })
    expect(snapshot).toEqual(before)
    expect(changes.map((c) => c.text)).toEqual([
      '1.0.0 → 1.1.0, step 1: renamed api.port → api.listenPort (platform)',
      '1.0.0 → 1.1.0, step 1: renamed api.port → api.listenPort (machine n1)',
      '1.0.0 → 1.1.0, step 2: removed api.old (platform)',
      '1.0.0 → 1.1.0, step 2: removed api.old (machine n1)',
      '1.0.0 → 1.1.0, step 3: added api.timeoutMs (platform)',
      '1.0.0 → 1.1.0, step 5: added machine.zone (machine n1)',
      '1.0.0 → 1.1.0, step 5: added machine.zone (machine n2)',
      '1.1.0 → 1.2.0, step 1: changed api.timeoutMs (platform)'
    ])
    expect(changes[0]).toEqual({ migration: '1.0.0-to-1.1.0', step: 0, layer: 'platform', key: 'api.port', action: 'renamed', to: 'api.listenPort', text: changes[0]!.text })
  })

  it('copies values: changing the result does not change the migration or the input', () => {
    const value = { nested: [1] }
    const path = [m('1.0.0', '1.1.0', [{ op: 'add', key: 'a.b', value }])]
    const { snapshot: after } = migrateSettings({ platform: {}, machines: {} }, path)
    ;(after.platform['a.b'] as { nested: number[] }).nested.push(2)
    expect(value).toEqual({ nested: [1] })
  })
})

describe('migrateSettings: code steps in a sandbox', () => {
  const snapshot: SettingsSnapshot = { platform: { 'api.corsOrigins': ['HTTPS://A.example/', 'https://a.example'] }, machines: { n1: { 'api.logLevel': 'debug' } } }

  it('runs once per layer with a copy of its values and the layer, and reports the keys it changed', () => {
    const { snapshot: after, changes } = migrateSettings(snapshot, [code(`
      values['api.corsOrigins'] = [...new Set((values['api.corsOrigins'] ?? []).map((o) => o.toLowerCase().replace(/\\/$/, '')))]
      if (layer.kind === 'machine') values['machine.name'] = layer.node
      if (values['api.logLevel'] === 'debug') delete values['api.logLevel']
      return values`, 'normalise')])
    expect(after).toEqual({ platform: { 'api.corsOrigins': ['https://a.example'] }, machines: { n1: { 'api.corsOrigins': [], 'machine.name': 'n1' } } })
    expect(changes.map((c) => c.text)).toEqual([
      '1.0.0 → 1.1.0, step 1: changed api.corsOrigins (platform)',
      '1.0.0 → 1.1.0, step 1: removed api.logLevel (machine n1)',
      '1.0.0 → 1.1.0, step 1: added api.corsOrigins (machine n1)',
      '1.0.0 → 1.1.0, step 1: added machine.name (machine n1)'
    ])
  })

  it('the shipped fixture: demo 1.0.0 settings migrate to 1.1.0 and fit its schema', async () => {
    const { record } = await loadRelease(DEMO_1_1)
    const before: SettingsSnapshot = { platform: { 'platform.name': 'Hospital', 'api.sessionSecret': 's', 'api.corsOrigins': ['https://App.example/'] }, machines: { n1: { 'machine.listenIp': '127.0.0.1' } } }
    const { snapshot: after } = migrateSettings(before, migrationPath(record.migrations, '1.0.0', '1.1.0'))
    expect(after.platform).toEqual({ 'platform.title': 'Hospital', 'api.sessionSecret': 's', 'api.corsOrigins': ['https://app.example'] })
    expect(checkMigratedSettings(compileRelease(record).schema, after)).toEqual([])
    expect(checkMigratedSettings(compileRelease(record).schema, before).map((p) => p.message)).toEqual([
      "unknown setting 'platform.name' — did you mean 'platform.title'? (platform values)"
    ])
  })

  it.each([
    ['has no process', 'process.exit(1)', 'threw "process is not defined"'],
    ['has no require', 'require("node:fs")', 'threw "require is not defined"'],
    ['has no eval', 'return eval("values")', 'threw "Code generation from strings disallowed for this context"'],
    ['is strict', 'undeclared = 1; return values', 'threw "undeclared is not defined"'],
    ['stops after 1 s', 'for (;;) {}', 'did not finish within 1000 ms'],
    ['stops after 1 s, microtasks too', 'const spin = () => Promise.resolve().then(spin); spin(); return values', 'did not finish within 1000 ms'],
    ['must return the values', 'values.x = 1', 'must return the values object (group.name → value), got undefined (a missing return?)'],
    ['must return an object', 'return [values]', 'must return the values object (group.name → value), got a list'],
    ['must return plain data: no functions', 'values.f = () => 1; return values', 'returned a function at the result.f: only JSON data may be returned'],
    ['must return plain data: no dates', 'values.d = new Date(0); return values', 'returned an object that is not plain data at the result.d: only JSON data may be returned'],
    ['must return plain data: no NaN', 'values.n = 0 / 0; return values', 'returned NaN at the result.n, which JSON cannot hold'],
    ['must return plain data: no cycles', 'values.self = values; return values', 'returned a cycle at the result.self: only JSON data may be returned'],
    ['must return plain data: no getters (never run)', 'Object.defineProperty(values, "g", { get() { for (;;) {} }, enumerable: true }); return values', 'returned a symbol, getter or hidden property at the result.g: only JSON data may be returned'],
    ['must return plain data: no proxies (never run)', 'return new Proxy(values, { ownKeys() { for (;;) {} } })', 'must return the values object (group.name → value), got a proxy'],
    ['must not return a promise', 'return Promise.resolve(values)', 'must return the values object (group.name → value), got a promise'],
    ['reports a thrown non-Error', 'throw 42', 'threw a number'],
    ['reads a thrown object without running its getters', 'throw { get message() { for (;;) {} } }', 'threw a value that is not an Error']
  ])('%s', (_name, source, detail) => {
    const started = Date.now()
    let error: (Error & { code?: string; hint?: string }) | undefined
    try {
      migrateSettings(snapshot, [m('1.0.0', '1.1.0', [{ op: 'add', key: 'a.b', value: 1 }, { op: 'code', description: 'reshape', source }])])
    } catch (err) {
      error = err as Error
    }
    expect(error).toMatchObject({
      code: 'PRYV_RELEASE_MIGRATION_FAILED',
      exitCode: 3,
      message: `migration 1.0.0-to-1.1.0, step 2: code step "reshape" on the platform values ${detail}`,
      hint: 'fix step 2 of migrations/1.0.0-to-1.1.0.yaml in the bundle; the settings were left as they were'
    })
    expect(Date.now() - started).toBeLessThan(3000)
  })

  it('cannot reach the node through its prototypes, nor change the node\'s', () => {
    const { snapshot: after } = migrateSettings({ platform: { 'a.b': 1 }, machines: {} }, [code('Object.prototype.polluted = true; values["a.b"] = typeof globalThis.process; return values')])
    expect(after.platform).toEqual({ 'a.b': 'undefined' })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(() => migrateSettings({ platform: {}, machines: {} }, [code('return values.constructor.constructor("return process")()')])).toThrow('threw "Code generation from strings disallowed for this context"')
  })
})

describe('checkMigratedSettings', () => {
  it('reports unknown keys with the migration to blame, wrong scopes and required values missing on some nodes', async () => {
    const { record } = await loadRelease(DEMO_1_1)
    const schema = compileRelease(record).schema
    const problems = checkMigratedSettings(schema, {
      platform: { 'platform.name': 'x', 'machine.listenIp': '127.0.0.1' },
      machines: { n1: { 'api.port': 'x' }, n2: {} }
    })
    expect(problems.map((p) => [p.code, p.message])).toEqual([
      ['PRYV_SETTING_UNKNOWN', "unknown setting 'platform.name' — did you mean 'platform.title'? (platform values)"],
      ['PRYV_SETTING_SCOPE', "'machine.listenIp' is machine-specific and cannot be set platform-wide (platform values)"],
      ['PRYV_SETTING_INVALID_TYPE', "'api.port' must be a port number, got \"x\" (overrides of node n1)"],
      ['PRYV_SETTING_REQUIRED', "'api.sessionSecret' is required and has no value (on nodes n1, n2)"]
    ])
    expect(problems[0]!.hint).toBe("release schema 'demo' has no such setting: the release's migrations should rename or remove it")
  })
})
