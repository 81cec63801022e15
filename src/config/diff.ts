import type { SettingsValues } from './layers.js'
import { isSecret, SECRET_MASK } from './mask.js'
import type { Schema } from './schema.js'
import { deepEqual } from './values.js'

export interface SettingDiff {
  readonly key: string
  /** `undefined` = not set on that side. Secrets show as the mask. */
  readonly from: unknown
  readonly to: unknown
  readonly secret: boolean
}

/**
 * What changed from `a` to `b` (one layer's values, e.g. two revisions of the platform layer), sorted
 * by key. A changed secret is listed, so the change is visible, but both sides are masked.
 */
export function diffSettings(schema: Schema, a: SettingsValues, b: SettingsValues): SettingDiff[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()
  const diffs: SettingDiff[] = []
  for (const key of keys) {
    const from = a[key]
    const to = b[key]
    if (deepEqual(from, to)) continue
    const secret = isSecret(schema, key)
    const hide = (v: unknown): unknown => (secret && v !== undefined && v !== null ? SECRET_MASK : v)
    diffs.push({ key, from: hide(from), to: hide(to), secret })
  }
  return diffs
}

/** The set/unset that turns `current` back into `target`: `config rollback REV` as a new change. */
export function restoreValues(
  current: SettingsValues,
  target: SettingsValues
): { readonly set: Record<string, unknown>; readonly unset: readonly string[] } {
  const set: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(target)) {
    if (value !== undefined && !deepEqual(current[key], value)) set[key] = value
  }
  const unset = Object.keys(current)
    .filter((key) => current[key] !== undefined && target[key] === undefined)
    .sort()
  return { set, unset }
}
