import { checkAssignment, unknownSettingProblem } from './check.js'
import { applyChange, type PlatformSettings, type SettingsChange, targetValues } from './change.js'
import { coerceText } from './coerce.js'
import { type SettingDiff, diffSettings } from './diff.js'
import type { SettingProblem } from './errors.js'
import { effectiveSettings, type LayerName, type SettingsValues } from './layers.js'
import { type ServiceTemplates, tryRenderService } from './render.js'
import type { Schema } from './schema.js'

export interface ValidateOptions {
  /** The base layer (base.yml at init), for computing effective values. */
  readonly base?: SettingsValues
  /** The release's templates: a change that makes any of them fail to render on any node is refused. */
  readonly templates?: readonly ServiceTemplates[]
}

export type ChangeValidation =
  | {
      readonly ok: true
      /** The change with typed values, ready to append to the log. */
      readonly change: SettingsChange
      readonly next: PlatformSettings
      /** Changes to the target layer, secrets masked. */
      readonly diff: readonly SettingDiff[]
    }
  | { readonly ok: false; readonly problems: readonly SettingProblem[] }

/** Every problem with a whole layer's values (e.g. base.yml after parsing, an imported revision). */
export function validateLayer(schema: Schema, layer: LayerName, values: SettingsValues): SettingProblem[] {
  return Object.entries(values).flatMap(([key, value]) => checkAssignment(schema, layer, key, value))
}

/**
 * Checks a change before it is committed and reports all problems at once: unknown keys (with a
 * did-you-mean), types, constraints, scope, required settings left without a value, and templates
 * that would stop rendering on some node. Problems that already existed before the change are not
 * blamed on it, so a broken platform can still be repaired one change at a time.
 */
export function validateChange(
  schema: Schema,
  current: PlatformSettings,
  change: SettingsChange,
  options: ValidateOptions = {}
): ChangeValidation {
  const layer = change.target.kind
  const problems: SettingProblem[] = []
  const set: Record<string, unknown> = {}
  for (const [key, raw] of Object.entries(change.set ?? {})) {
    const setting = schema.settings.get(key)
    if (!setting) {
      problems.push(unknownSettingProblem(schema, key))
      continue
    }
    let value = raw
    if (change.input === 'text' && typeof raw === 'string') {
      const coerced = coerceText(key, setting.def, raw)
      if (!coerced.ok) {
        problems.push({ code: 'PRYV_SETTING_INVALID_TYPE', key, message: coerced.message })
        continue
      }
      value = coerced.value
    }
    const found = checkAssignment(schema, layer, key, value)
    problems.push(...found)
    if (found.length === 0) set[key] = value
  }
  for (const key of change.unset ?? []) {
    if (!schema.settings.has(key)) problems.push(unknownSettingProblem(schema, key))
    else if (Object.hasOwn(change.set ?? {}, key)) {
      problems.push({ code: 'PRYV_SETTING_CONFLICT', key, message: `'${key}' is both set and unset in one change` })
    }
  }
  if (problems.length > 0) return { ok: false, problems }

  const typed: SettingsChange = { target: change.target, set, ...(change.unset?.length ? { unset: [...change.unset] } : {}) }
  const next = applyChange(current, typed)
  problems.push(...newPlatformProblems(schema, current, next, options))
  if (problems.length > 0) return { ok: false, problems }
  return {
    ok: true,
    change: typed,
    next,
    diff: diffSettings(schema, targetValues(current, change.target), targetValues(next, change.target))
  }
}

/** Missing required values and render failures present after the change but not before, per node. */
function newPlatformProblems(
  schema: Schema,
  current: PlatformSettings,
  next: PlatformSettings,
  options: ValidateOptions
): SettingProblem[] {
  // With no node known yet, check what a node without overrides would get.
  const nodes = Object.keys(next.machines).length > 0 ? Object.keys(next.machines).sort() : ['(any node)']
  const found = new Map<string, { problem: Omit<SettingProblem, 'message'>; text: string; nodes: string[] }>()
  for (const node of nodes) {
    const old = nodeProblems(schema, current, node, options)
    for (const [text, problem] of nodeProblems(schema, next, node, options)) {
      if (old.has(text)) continue
      const entry = found.get(text) ?? { problem, text, nodes: [] }
      entry.nodes.push(node)
      found.set(text, entry)
    }
  }
  return [...found.values()].map(({ problem, text, nodes: on }) => ({
    ...problem,
    message: on[0] === '(any node)' ? text : `${text} (on ${on.length === 1 ? 'node' : 'nodes'} ${on.join(', ')})`
  }))
}

function nodeProblems(
  schema: Schema,
  state: PlatformSettings,
  node: string,
  options: ValidateOptions
): Map<string, Omit<SettingProblem, 'message'>> {
  const effective = effectiveSettings(schema, {
    base: options.base,
    platform: state.platform,
    machine: state.machines[node]
  })
  const problems = new Map<string, Omit<SettingProblem, 'message'>>()
  for (const key of effective.missing) {
    problems.set(`'${key}' is required and has no value`, { code: 'PRYV_SETTING_REQUIRED', key, hint: requiredHint(schema, key) })
  }
  for (const templates of options.templates ?? []) {
    for (const p of tryRenderService(templates, effective.values).problems) {
      // Already reported as a required setting without a value.
      if (p.code === 'PRYV_TEMPLATE_MISSING_VALUE' && effective.missing.includes(p.key!)) continue
      problems.set(`change would break rendering: ${p.message}`, { code: 'PRYV_SETTING_BREAKS_RENDER', key: p.key ?? p.file })
    }
  }
  return problems
}

function requiredHint(schema: Schema, key: string): string {
  const def = schema.settings.get(key)!.def
  if (def.generate !== undefined) return 'generated secrets are created by `pryv-node init-platform`'
  const machine = def.scope === 'machine' ? ' --machine NODE' : ''
  return `set it: \`pryv-node config set${machine} ${key}=VALUE\``
}
