import { isIP, isIPv4 } from 'node:net'
import { SECRET_MASK } from './mask.js'
import type { SettingDef, StringFormat, TypeSpec } from './schema.js'

export interface ValueProblem {
  readonly kind: 'type' | 'constraint'
  readonly message: string
}

const HOSTNAME_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

/** Describes a value for a message without dumping large structures. */
function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

/**
 * Checks a setting's value (null allowed when `nullable`); `path` is the setting key. A secret's
 * value never appears in a message: problems end up in logs, terminals and `--json` output.
 */
export function checkSettingValue(def: SettingDef, value: unknown, path: string): ValueProblem[] {
  if (value === null && def.nullable) return []
  return checkValue(def, value, path, def.secret === true)
}

/** Checks `value` against `spec`, returning every problem found (nested paths like `a.b[0].ip`). */
export function checkValue(spec: TypeSpec, value: unknown, path: string, hideValues = false): ValueProblem[] {
  const got = (v: unknown): string => (hideValues ? SECRET_MASK : show(v))
  const type = (expected: string): ValueProblem[] => [
    { kind: 'type', message: `'${path}' must be ${expected}, got ${got(value)}` }
  ]
  const constraint = (message: string): ValueProblem[] => [{ kind: 'constraint', message: `'${path}' ${message}` }]

  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string') return type('a string')
      if (spec.minLength !== undefined && value.length < spec.minLength) {
        return constraint(`must be at least ${spec.minLength} characters long`)
      }
      if (spec.maxLength !== undefined && value.length > spec.maxLength) {
        return constraint(`must be at most ${spec.maxLength} characters long`)
      }
      if (spec.pattern !== undefined && !new RegExp(`^(?:${spec.pattern})$`).test(value)) {
        return constraint(`must match /${spec.pattern}/, got ${got(value)}`)
      }
      if (spec.format !== undefined && !matchesFormat(spec.format, value)) {
        return constraint(`must be ${FORMAT_NAMES[spec.format]}, got ${got(value)}`)
      }
      return []
    }
    case 'integer':
    case 'number': {
      const isPort = spec.type === 'integer' && spec.format === 'port'
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        return type(isPort ? 'a port number' : spec.type === 'integer' ? 'an integer' : 'a number')
      }
      if (spec.type === 'integer' && !Number.isInteger(value)) return type('an integer')
      const min = isPort ? 1 : spec.min
      const max = isPort ? 65535 : spec.max
      if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
        return constraint(`must be ${rangeText(min, max)}, got ${got(value)}`)
      }
      return []
    }
    case 'boolean':
      return typeof value === 'boolean' ? [] : type('true or false')
    case 'enum':
      return typeof value === 'string' && spec.values.includes(value)
        ? []
        : type(`one of ${spec.values.map((v) => `'${v}'`).join(', ')}`)
    case 'list': {
      if (!Array.isArray(value)) return type('a list')
      if (spec.minItems !== undefined && value.length < spec.minItems) {
        return constraint(`must have at least ${spec.minItems} item(s)`)
      }
      if (spec.maxItems !== undefined && value.length > spec.maxItems) {
        return constraint(`must have at most ${spec.maxItems} item(s)`)
      }
      return value.flatMap((item, i) => checkValue(spec.items, item, `${path}[${i}]`, hideValues))
    }
    case 'map': {
      if (!isPlainObject(value)) return type('a map')
      return Object.entries(value).flatMap(([k, v]) => checkValue(spec.values, v, `${path}.${k}`, hideValues))
    }
    case 'object': {
      if (!isPlainObject(value)) return type('an object')
      const problems: ValueProblem[] = []
      for (const [name, field] of Object.entries(spec.fields)) {
        if (value[name] === undefined) {
          if (!field.optional) problems.push({ kind: 'type', message: `'${path}.${name}' is required` })
        } else {
          problems.push(...checkValue(field, value[name], `${path}.${name}`, hideValues))
        }
      }
      for (const name of Object.keys(value)) {
        if (!(name in spec.fields)) {
          const known = Object.keys(spec.fields).join(', ')
          problems.push({ kind: 'type', message: `'${path}.${name}' is not a known field (expected: ${known})` })
        }
      }
      return problems
    }
    case 'json':
      return isJson(value) ? [] : type('a JSON value')
  }
}

const FORMAT_NAMES: Record<StringFormat, string> = {
  hostname: 'a hostname',
  url: 'an http(s) URL',
  email: 'an email address',
  ipv4: 'an IPv4 address',
  ip: 'an IP address',
  cidr: 'an IP address or prefix (e.g. 192.0.2.0/24)',
  path: 'an absolute path (e.g. /var/backups/pryv)'
}

function matchesFormat(format: StringFormat, value: string): boolean {
  switch (format) {
    case 'hostname':
      return value.length <= 253 && value.split('.').every((label) => HOSTNAME_LABEL.test(label))
    case 'url': {
      if (!URL.canParse(value)) return false
      const { protocol } = new URL(value)
      return protocol === 'http:' || protocol === 'https:'
    }
    case 'email':
      return EMAIL.test(value)
    case 'ipv4':
      return isIPv4(value)
    case 'ip':
      return isIP(value) !== 0
    case 'cidr': {
      const [address, length, extra] = value.split('/')
      const family = isIP(address ?? '')
      if (family === 0 || extra !== undefined) return false
      return length === undefined || (/^\d{1,3}$/.test(length) && Number(length) <= (family === 4 ? 32 : 128))
    }
    case 'path':
      return value.startsWith('/') && !value.includes('\0')
  }
}

function rangeText(min: number | undefined, max: number | undefined): string {
  if (min !== undefined && max !== undefined) return `between ${min} and ${max}`
  return min !== undefined ? `at least ${min}` : `at most ${max}`
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function isJson(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true
  if (typeof value === 'number') return Number.isFinite(value)
  if (Array.isArray(value)) return value.every(isJson)
  return isPlainObject(value) && Object.values(value).every(isJson)
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a)
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && deepEqual(a[k], b[k]))
  }
  return false
}
