import type { SettingProblem } from './errors.js'
import type { LayerName } from './layers.js'
import type { Schema, Setting } from './schema.js'
import { unknownMessage } from './suggest.js'
import { checkSettingValue } from './values.js'

/** Layers that hold replicated per-node values or local overrides; the rest are platform-wide. */
const MACHINE_LAYERS: ReadonlySet<LayerName> = new Set(['machine', 'env', 'cli'])

/** Whether a value of this setting may live in this layer. */
export function scopeAllows(setting: Setting, layer: LayerName): boolean {
  if (layer === 'default') return true
  if (setting.def.scope === 'both') return true
  return MACHINE_LAYERS.has(layer) ? setting.def.scope === 'machine' : setting.def.scope === 'platform'
}

export function unknownSettingProblem(schema: Schema, key: string): SettingProblem {
  return {
    code: 'PRYV_SETTING_UNKNOWN',
    key,
    message: unknownMessage('setting', key, schema.settings.keys()),
    hint: 'run `pryv-node config describe` to list every setting'
  }
}

/** Every problem with putting `value` under `key` in `layer`: unknown key, scope, type, constraints. */
export function checkAssignment(schema: Schema, layer: LayerName, key: string, value: unknown): SettingProblem[] {
  const setting = schema.settings.get(key)
  if (!setting) return [unknownSettingProblem(schema, key)]
  const problems: SettingProblem[] = []
  if (!scopeAllows(setting, layer)) problems.push(scopeProblem(setting, layer))
  for (const p of checkSettingValue(setting.def, value, key)) {
    problems.push({
      code: p.kind === 'type' ? 'PRYV_SETTING_INVALID_TYPE' : 'PRYV_SETTING_CONSTRAINT',
      key,
      message: p.message
    })
  }
  return problems
}

const LOCAL_SOURCE: Partial<Record<LayerName, string>> = { env: ' (from the environment)', cli: ' (from --set)' }

function scopeProblem(setting: Setting, layer: LayerName): SettingProblem {
  if (setting.def.scope === 'machine') {
    return {
      code: 'PRYV_SETTING_SCOPE',
      key: setting.key,
      message: `'${setting.key}' is machine-specific and cannot be set platform-wide`,
      hint: `set it for one node: \`pryv-node config set --machine NODE ${setting.key}=VALUE\``
    }
  }
  return {
    code: 'PRYV_SETTING_SCOPE',
    key: setting.key,
    message: `'${setting.key}' is platform-wide and cannot be overridden on one machine${LOCAL_SOURCE[layer] ?? ''}`,
    hint: `change it for the whole platform: \`pryv-node config set ${setting.key}=VALUE\``
  }
}
