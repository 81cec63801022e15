import { SECRET_MASK } from './mask.js'
import type { SettingDef } from './schema.js'

export type Coerced = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly message: string }

const TRUE = new Set(['true', 'yes', 'on', '1'])
const FALSE = new Set(['false', 'no', 'off', '0'])

/**
 * Turns text from the command line or the environment into the setting's type. Only the shape is
 * decided here ("8080" -> 8080, "[1,2]" -> [1,2]); constraints are checked afterwards like any value.
 * "null" means null for nullable non-string settings only; a string setting goes back to its default
 * with `config unset`.
 */
export function coerceText(key: string, def: SettingDef, text: string): Coerced {
  const trimmed = text.trim()
  const got = def.secret ? SECRET_MASK : `"${text}"`
  if (def.nullable && def.type !== 'string' && trimmed === 'null') return { ok: true, value: null }
  switch (def.type) {
    case 'string':
    case 'enum':
      return { ok: true, value: text }
    case 'integer':
      return /^[+-]?\d+$/.test(trimmed)
        ? { ok: true, value: Number(trimmed) }
        : { ok: false, message: `'${key}' must be an integer, got ${got}` }
    case 'number': {
      const value = Number(trimmed)
      return trimmed !== '' && Number.isFinite(value)
        ? { ok: true, value }
        : { ok: false, message: `'${key}' must be a number, got ${got}` }
    }
    case 'boolean': {
      const lower = trimmed.toLowerCase()
      if (TRUE.has(lower)) return { ok: true, value: true }
      if (FALSE.has(lower)) return { ok: true, value: false }
      return { ok: false, message: `'${key}' must be true or false, got ${got}` }
    }
    case 'list':
    case 'map':
    case 'object':
    case 'json':
      try {
        return { ok: true, value: JSON.parse(trimmed) }
      } catch {
        return { ok: false, message: `'${key}' expects JSON (${def.type}), got ${got}` }
      }
  }
}
