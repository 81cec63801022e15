import { describe, expect, it } from 'vitest'
import { demoSchema, formatProblem, parseSettingsYaml } from '../../src/config/index.js'

const lines = (...l: string[]): string => `${l.join('\n')}\n`

describe('parseSettingsYaml', () => {
  it('reads nested groups and dotted keys with YAML types', () => {
    const parsed = parseSettingsYaml(
      demoSchema,
      lines('platform:', '  domain: pryv.example.com', 'api:', '  port: 8080', '  corsOrigins:', '    - https://a.io', 'api.logLevel: debug'),
      'base.yml'
    )
    expect(parsed).toEqual({
      values: { 'platform.domain': 'pryv.example.com', 'api.port': 8080, 'api.corsOrigins': ['https://a.io'], 'api.logLevel': 'debug' },
      problems: []
    })
  })

  it('accepts an empty file and an empty group', () => {
    expect(parseSettingsYaml(demoSchema, '', 'base.yml')).toEqual({ values: {}, problems: [] })
    expect(parseSettingsYaml(demoSchema, 'api:\n', 'base.yml')).toEqual({ values: {}, problems: [] })
  })

  it('reports every problem with file:line:col and keeps no values', () => {
    const parsed = parseSettingsYaml(
      demoSchema,
      lines(
        'platform:',
        '  domian: pryv.example.com',
        'api:',
        '  port: "8080"',
        '  logLevel: loud',
        'machine:',
        '  listenIp: 10.0.0.1',
        'dnz:',
        '  ttl: 1'
      ),
      'base.yml'
    )
    expect(parsed.values).toEqual({})
    expect(parsed.problems.map(formatProblem)).toEqual([
      "base.yml:2:3: unknown setting 'platform.domian' — did you mean 'platform.domain'?",
      'base.yml:4:9: \'api.port\' must be a port number, got "8080"',
      'base.yml:5:13: \'api.logLevel\' must be one of \'error\', \'warn\', \'info\', \'debug\', got "loud"',
      "base.yml:7:3: 'machine.listenIp' is machine-specific and cannot be set platform-wide",
      "base.yml:8:1: unknown settings group 'dnz'"
    ])
  })

  it('accepts machine-scoped keys in a machine file', () => {
    expect(parseSettingsYaml(demoSchema, 'machine:\n  listenIp: 10.0.0.1\n', 'node.yml', 'machine').values).toEqual({
      'machine.listenIp': '10.0.0.1'
    })
  })

  it.each<[string, string, string]>([
    ['bad indentation', lines('api:', '  port: 1', ' logLevel: info'), 'base.yml:3:1: invalid YAML: All mapping items must start at the same column'],
    ['duplicate keys', lines('api:', '  port: 1', '  port: 2'), 'base.yml:3:3: invalid YAML: Map keys must be unique'],
    ['unclosed quote (reported where the file ends)', lines('platform:', '  name: "abc'), 'base.yml:3:1: invalid YAML: Missing closing "quote'],
    ['a list at the top', lines('- a', '- b'), 'base.yml:1:1: expected a map of settings at the top level'],
    ['a scalar group', lines('api: 3'), "base.yml:1:6: expected a map of settings at 'api'"]
  ])('reports %s with a position', (_name, text, start) => {
    const parsed = parseSettingsYaml(demoSchema, text, 'base.yml')
    expect(parsed.problems.length).toBeGreaterThan(0)
    expect(formatProblem(parsed.problems[0]!)).toContain(start)
    expect(parsed.values).toEqual({})
  })
})
