import { canonicalJson } from '../canonical-json.js'
import type { SettingsValues } from '../config/layers.js'
import type { Schema } from '../config/schema.js'

/** What one service may read of a node's effective settings: the settings it consumes (secrets included). */
export function serviceSettings(schema: Schema, values: SettingsValues, service: string): Record<string, unknown> {
  const own: Record<string, unknown> = {}
  for (const [key, setting] of schema.settings) {
    if (setting.def.consumers.includes(service) && values[key] !== undefined) own[key] = values[key]
  }
  return own
}

/** Equal settings give equal text: unchanged content is recognised whatever the order of keys. */
export function settingsText(settings: Record<string, unknown>): string {
  return canonicalJson(settings)
}
