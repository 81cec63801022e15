import { scopeAllows, unknownSettingProblem } from './check.js'
import { SettingsInvalidError } from './errors.js'
import { SECRET_MASK } from './mask.js'
import type { Schema } from './schema.js'

/** Flat values keyed by `group.name`. */
export type SettingsValues = Readonly<Record<string, unknown>>

/** Lowest to highest precedence. `env` and `cli` are local to one process and never replicated. */
export const LAYER_ORDER = ['default', 'base', 'platform', 'machine', 'env', 'cli'] as const
export type LayerName = (typeof LAYER_ORDER)[number]

/** Every layer but the schema defaults, which come from the schema itself. */
export type SettingsLayers = Partial<Record<Exclude<LayerName, 'default'>, SettingsValues>>

export interface EffectiveSettings {
  /** One entry per schema key; `undefined` when a required setting has no value anywhere. */
  readonly values: SettingsValues
  /** The layer each value came from, `unset` when none gave one. */
  readonly sources: Readonly<Record<string, LayerName | 'unset'>>
  /** Required settings without a value, in schema order. */
  readonly missing: readonly string[]
}

export interface LayerValue {
  readonly layer: LayerName
  readonly set: boolean
  /** False when the layer holds a value that the setting's scope does not allow there (it is ignored). */
  readonly allowed: boolean
  /** Masked for secrets unless `reveal` is asked for. */
  readonly value?: unknown
}

export interface Explanation {
  readonly key: string
  readonly winner: LayerName | 'unset'
  readonly value: unknown
  readonly layers: readonly LayerValue[]
}

function layerValues(schema: Schema, key: string, layers: SettingsLayers): LayerValue[] {
  const setting = schema.settings.get(key)!
  return LAYER_ORDER.map((layer) => {
    const source = layer === 'default' ? { [key]: setting.def.default } : layers[layer]
    const set = source !== undefined && Object.hasOwn(source, key) && source[key] !== undefined
    return { layer, set, allowed: scopeAllows(setting, layer), value: set ? source[key] : undefined }
  })
}

function winnerOf(values: readonly LayerValue[]): LayerValue | undefined {
  return values.findLast((v) => v.set && v.allowed)
}

/**
 * Merges the layers, highest wins per key (values are replaced whole, never deep-merged, so a map
 * setting reads the same as the layer that set it). Values in a layer their scope forbids are ignored;
 * validation keeps them out of replicated layers in the first place.
 */
export function effectiveSettings(schema: Schema, layers: SettingsLayers): EffectiveSettings {
  const values: Record<string, unknown> = {}
  const sources: Record<string, LayerName | 'unset'> = {}
  const missing: string[] = []
  for (const key of schema.settings.keys()) {
    const winner = winnerOf(layerValues(schema, key, layers))
    values[key] = winner?.value
    sources[key] = winner?.layer ?? 'unset'
    if (!winner) missing.push(key)
  }
  return { values, sources, missing }
}

/**
 * Every layer's value for one key and which one wins: `pryv-node config get KEY --explain`.
 * Throws SettingsInvalidError (with a did-you-mean) for an unknown key.
 */
export function explain(
  schema: Schema,
  key: string,
  layers: SettingsLayers,
  options: { reveal?: boolean } = {}
): Explanation {
  const setting = schema.settings.get(key)
  if (!setting) throw new SettingsInvalidError([unknownSettingProblem(schema, key)])
  const hide = setting.def.secret === true && options.reveal !== true
  const all = layerValues(schema, key, layers).map((v) =>
    hide && v.set && v.value !== null ? { ...v, value: SECRET_MASK } : v
  )
  const winner = winnerOf(all)
  return { key, winner: winner?.layer ?? 'unset', value: winner?.value, layers: all }
}
