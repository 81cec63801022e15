import { describe, expect, it } from 'vitest'
import { defineSchema, demoSchema, envNameOf, SchemaDefinitionError, type SettingDef } from '../../src/config/index.js'

const base: SettingDef = { type: 'string', default: 'x', description: 'd', scope: 'platform', consumers: ['svc'] }
/** `base` with some fields replaced; the cast lets a test build deliberately wrong definitions. */
const def = (fields: object): SettingDef => ({ ...base, ...fields }) as SettingDef

function problemsOf(settings: Record<string, SettingDef>): readonly string[] {
  try {
    defineSchema({ name: 't', groups: { g: { title: 'G', settings } } })
  } catch (error) {
    expect(error).toBeInstanceOf(SchemaDefinitionError)
    expect((error as SchemaDefinitionError).code).toBe('PRYV_SCHEMA_INVALID')
    return (error as SchemaDefinitionError).problems
  }
  return []
}

describe('defineSchema', () => {
  it('compiles the demo schema with group.name keys and PRYV_ variables', () => {
    expect([...demoSchema.settings.keys()]).toContain('api.logLevel')
    expect(demoSchema.settings.get('api.logLevel')!.envName).toBe('PRYV_API_LOG_LEVEL')
    expect(demoSchema.byEnvName.get('PRYV_MACHINE_LISTEN_IP')!.key).toBe('machine.listenIp')
    expect(envNameOf('dns', 'defaultTtl')).toBe('PRYV_DNS_DEFAULT_TTL')
  })

  it.each<[string, SettingDef, string]>([
    ['secret with a default', def({ secret: true }), "'g.k': a secret cannot have a default value"],
    ['generator on a non-secret', def({ generate: { kind: 'uuid' } }), "'g.k': only string secrets are generated"],
    [
      'generator on a non-string secret',
      def({ type: 'json', default: undefined, secret: true, generate: { kind: 'uuid' } }),
      "'g.k': only string secrets are generated"
    ],
    [
      'weak generator',
      def({ default: undefined, secret: true, generate: { kind: 'random', bytes: 8, encoding: 'hex' } }),
      "'g.k': generated secrets need at least 16 random bytes"
    ],
    ['default of the wrong type', def({ type: 'integer', default: 'x' }), "'g.k': default is invalid: 'g.k' must be an integer, got \"x\""],
    ['null default, not nullable', def({ default: null }), "'g.k': default is null but the setting is not nullable"],
    ['default breaking a constraint', def({ type: 'integer', format: 'port', default: 0 }), "'g.k': default is invalid: 'g.k' must be between 1 and 65535, got 0"],
    ['bad pattern', def({ pattern: '(' }), "'g.k': pattern is not a valid regular expression"],
    ['no consumers', def({ consumers: [] }), "'g.k': no consumers listed"],
    ['empty enum', def({ type: 'enum', values: [], default: undefined }), "'g.k': enum has no values"],
    ['bad scope', def({ scope: 'node' as never }), "'g.k': unknown scope 'node'"]
  ])('rejects %s', (_name, def, message) => {
    expect(problemsOf({ k: def })).toContain(message)
  })

  it('accepts a nullable secret defaulting to null (an optional operator-provided secret)', () => {
    expect(problemsOf({ k: def({ secret: true, nullable: true, default: null }) })).toEqual([])
  })

  it('reports every problem at once, including environment-variable clashes and bad names', () => {
    let caught: SchemaDefinitionError | undefined
    try {
      defineSchema({
        name: 't',
        groups: {
          a: { title: 'A', settings: { bC: base, Bad_name: base } },
          aB: { title: 'AB', settings: { c: def({ secret: true }) } }
        }
      })
    } catch (error) {
      caught = error as SchemaDefinitionError
    }
    expect(caught?.problems).toEqual([
      "'a.Bad_name': name must be lowerCamelCase",
      "'aB.c': a secret cannot have a default value",
      "'aB.c' and 'a.bC' share the variable PRYV_A_B_C"
    ])
    expect(caught?.message).toContain("settings schema 't' is invalid")
  })
})
