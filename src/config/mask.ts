import type { SettingsValues } from './layers.js'
import type { Schema } from './schema.js'

export const SECRET_MASK = '••••'

/** Copy of `values` with every set secret replaced by the mask (null stays null: "not configured" is not secret). */
export function maskSecrets(schema: Schema, values: SettingsValues): Record<string, unknown> {
  const masked: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(values)) {
    masked[key] = isSecret(schema, key) && value !== undefined && value !== null ? SECRET_MASK : value
  }
  return masked
}

export function isSecret(schema: Schema, key: string): boolean {
  return schema.settings.get(key)?.def.secret === true
}
