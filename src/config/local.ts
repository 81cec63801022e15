import { checkAssignment, unknownSettingProblem } from './check.js'
import { coerceText } from './coerce.js'
import type { SettingProblem } from './errors.js'
import type { SettingsValues } from './layers.js'
import type { Schema } from './schema.js'
import { closest, unknownMessage } from './suggest.js'

export interface ParsedLayer {
  readonly values: SettingsValues
  readonly problems: readonly SettingProblem[]
}

const ENV_PREFIX = 'PRYV_'

/**
 * The `env` layer: `PRYV_<GROUP>_<NAME>` variables parsed to each setting's type. Other `PRYV_`
 * variables belong to the node itself and are left alone, except near-misses of a setting's
 * variable, which are reported so a typo does not go unnoticed.
 */
export function settingsFromEnv(schema: Schema, env: Readonly<Record<string, string | undefined>>): ParsedLayer {
  const values: Record<string, unknown> = {}
  const problems: SettingProblem[] = []
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined) continue
    const setting = schema.byEnvName.get(name)
    if (!setting) {
      if (closest(name, schema.byEnvName.keys()) !== undefined) {
        const message = unknownMessage('environment variable', name, schema.byEnvName.keys())
        problems.push({ code: 'PRYV_SETTING_UNKNOWN', key: name, message })
      }
      continue
    }
    assignText(schema, 'env', setting.key, text, values, problems)
  }
  return { values, problems }
}

/** The `cli` layer from repeated `--set group.name=value` arguments. */
export function settingsFromSetArgs(schema: Schema, args: readonly string[]): ParsedLayer {
  const values: Record<string, unknown> = {}
  const problems: SettingProblem[] = []
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq <= 0) {
      problems.push({
        code: 'PRYV_SETTING_INVALID_TYPE',
        key: arg,
        message: `'--set ${arg}' must have the form group.name=value`
      })
      continue
    }
    const key = arg.slice(0, eq).trim()
    if (!schema.settings.has(key)) problems.push(unknownSettingProblem(schema, key))
    else assignText(schema, 'cli', key, arg.slice(eq + 1), values, problems)
  }
  return { values, problems }
}

function assignText(
  schema: Schema,
  layer: 'env' | 'cli',
  key: string,
  text: string,
  values: Record<string, unknown>,
  problems: SettingProblem[]
): void {
  const coerced = coerceText(key, schema.settings.get(key)!.def, text)
  if (!coerced.ok) {
    problems.push({ code: 'PRYV_SETTING_INVALID_TYPE', key, message: coerced.message })
    return
  }
  const found = checkAssignment(schema, layer, key, coerced.value)
  if (found.length === 0) values[key] = coerced.value
  else problems.push(...found)
}
