import { describe, expect, it } from 'vitest'
import type { TypeSpec } from '../../src/config/index.js'
import { checkValue } from '../../src/config/values.js'

const messages = (spec: TypeSpec, value: unknown): string[] => checkValue(spec, value, 'g.k').map((p) => p.message)

describe('checkValue', () => {
  it.each<[string, TypeSpec, unknown]>([
    ['string', { type: 'string' }, 'a'],
    ['hostname', { type: 'string', format: 'hostname' }, 'pryv.example.com'],
    ['url', { type: 'string', format: 'url' }, 'https://sw.pryv.me/access'],
    ['email', { type: 'string', format: 'email' }, 'ops@pryv.me'],
    ['ipv4', { type: 'string', format: 'ipv4' }, '10.0.0.1'],
    ['ipv6 as ip', { type: 'string', format: 'ip' }, '::1'],
    ['pattern', { type: 'string', pattern: '[a-z]+' }, 'abc'],
    ['port', { type: 'integer', format: 'port' }, 65535],
    ['integer in range', { type: 'integer', min: 1, max: 3 }, 3],
    ['number', { type: 'number', min: 0 }, 0.5],
    ['boolean', { type: 'boolean' }, false],
    ['enum', { type: 'enum', values: ['a', 'b'] }, 'b'],
    ['list', { type: 'list', items: { type: 'integer' } }, [1, 2]],
    ['map', { type: 'map', values: { type: 'boolean' } }, { x: true }],
    ['object with optional field', { type: 'object', fields: { a: { type: 'string' }, b: { type: 'integer', optional: true } } }, { a: 'x' }],
    ['json', { type: 'json' }, { a: [1, null, 'x'] }]
  ])('accepts a valid %s', (_name, spec, value) => {
    expect(messages(spec, value)).toEqual([])
  })

  it.each<[string, TypeSpec, unknown, string[]]>([
    ['string', { type: 'string' }, 5, ["'g.k' must be a string, got 5"]],
    ['hostname', { type: 'string', format: 'hostname' }, 'bad_host.com', ['\'g.k\' must be a hostname, got "bad_host.com"']],
    ['url without http', { type: 'string', format: 'url' }, 'ftp://x', ['\'g.k\' must be an http(s) URL, got "ftp://x"']],
    ['email', { type: 'string', format: 'email' }, 'ops', ['\'g.k\' must be an email address, got "ops"']],
    ['ipv4', { type: 'string', format: 'ipv4' }, '10.0.0.256', ['\'g.k\' must be an IPv4 address, got "10.0.0.256"']],
    ['pattern is anchored', { type: 'string', pattern: '[a-z]+' }, 'abc1', ['\'g.k\' must match /[a-z]+/, got "abc1"']],
    ['min length', { type: 'string', minLength: 20 }, 'short', ["'g.k' must be at least 20 characters long"]],
    ['port', { type: 'integer', format: 'port' }, 70000, ["'g.k' must be between 1 and 65535, got 70000"]],
    ['port type', { type: 'integer', format: 'port' }, '80', ['\'g.k\' must be a port number, got "80"']],
    ['fraction', { type: 'integer' }, 1.5, ["'g.k' must be an integer, got 1.5"]],
    ['below min', { type: 'number', min: 0 }, -1, ["'g.k' must be at least 0, got -1"]],
    ['boolean', { type: 'boolean' }, 'yes', ['\'g.k\' must be true or false, got "yes"']],
    ['enum', { type: 'enum', values: ['a', 'b'] }, 'c', ['\'g.k\' must be one of \'a\', \'b\', got "c"']],
    ['list items', { type: 'list', items: { type: 'integer' } }, [1, 'x', 2.5], ['\'g.k[1]\' must be an integer, got "x"', "'g.k[2]' must be an integer, got 2.5"]],
    ['map values', { type: 'map', values: { type: 'boolean' } }, { x: 1 }, ["'g.k.x' must be true or false, got 1"]],
    [
      'object fields',
      { type: 'object', fields: { ip: { type: 'string', format: 'ipv4' } } },
      { ipp: '1.2.3.4' },
      ["'g.k.ip' is required", "'g.k.ipp' is not a known field (expected: ip)"]
    ],
    ['json', { type: 'json' }, { a: Number.NaN }, ['\'g.k\' must be a JSON value, got {"a":null}']]
  ])('rejects an invalid %s', (_name, spec, value, expected) => {
    expect(messages(spec, value)).toEqual(expected)
  })
})
