import type { ChangeTarget, PlatformSettings, SettingsChange } from '../config/change.js'
import type { SettingsValues } from '../config/layers.js'
import type { ServiceTemplates } from '../config/render.js'
import { defineSchema, type Schema, type SchemaDef } from '../config/schema.js'
import { type ChangeValidation, validateChange, validateLayer } from '../config/validate.js'
import type { SettingProblem, TemplateProblem } from '../config/errors.js'
import { effectiveSettings } from '../config/layers.js'
import { tryRenderService } from '../config/render.js'
import { compileRelease, platformSchemaDef } from './compile.js'
import type { ReleaseRecord, ReleaseService } from './types.js'

/** What a platform's settings are checked and rendered with: its release's schema and templates. */
export interface PlatformRelease {
  readonly schema: Schema
  readonly templates: readonly ServiceTemplates[]
  /** What the node runs, in start order. */
  readonly services?: readonly ReleaseService[]
  /** The replicated release this was compiled from; absent before the platform's first release. */
  readonly record?: ReleaseRecord
}

/** Before a platform's first release is applied (while it is founded or joined): the node's own settings only. */
export const NO_RELEASE_SCHEMA_DEF: SchemaDef = platformSchemaDef({ name: 'none', groups: {} })
const NO_RELEASE: PlatformRelease = { schema: defineSchema(NO_RELEASE_SCHEMA_DEF), templates: [] }

/**
 * The release a platform's settings are checked and rendered with: the replicated release in force,
 * or the node's own settings only for a platform that has none yet.
 */
export function platformRelease(record?: ReleaseRecord): PlatformRelease {
  return record ? { ...compileRelease(record), record } : NO_RELEASE
}

/**
 * Every problem a release's settings would have on any member: values the schema refuses, required
 * platform-wide settings without a value, templates that do not render (on nodes that have every
 * value). Pure; used before a release is committed
 * and again by every node applying it.
 */
export function checkReleaseSettings(release: PlatformRelease, settings: PlatformSettings): Array<SettingProblem | TemplateProblem> {
  const problems: Array<SettingProblem | TemplateProblem> = [...validateLayer(release.schema, 'platform', settings.platform)]
  for (const [node, values] of Object.entries(settings.machines)) {
    problems.push(...validateLayer(release.schema, 'machine', values).map((p) => ({ ...p, message: `${node}: ${p.message}` })))
  }
  if (problems.length > 0) return problems
  for (const node of Object.keys(settings.machines).sort()) {
    const effective = effectiveSettings(release.schema, { platform: settings.platform, machine: settings.machines[node] })
    // A per-machine value may come from the node's own layers (--set, environment), which only it knows.
    const missing = effective.missing.filter((key) => release.schema.settings.get(key)?.def.scope === 'platform')
    for (const key of missing) {
      problems.push({ code: 'PRYV_SETTING_REQUIRED', key, message: `${node}: '${key}' is required and has no value` })
    }
    if (effective.missing.length > 0) continue
    for (const t of release.templates) {
      problems.push(...tryRenderService(t, effective.values).problems.map((p) => ({ ...p, message: `${node}: ${p.message}` })))
    }
  }
  return problems
}

/** A settings change as the platform log carries it: typed values, one target, a message. */
export interface LoggedSettingsChange {
  /** Machine overrides are addressed by node name (unique and permanent within a platform). */
  readonly target: ChangeTarget
  readonly set?: Readonly<Record<string, unknown>>
  readonly unset?: readonly string[]
  readonly message?: string
}

/**
 * The replicated settings as validation sees them: every member appears under `machines` (with `{}`
 * when it has no overrides), so a change is checked against the templates of every node.
 */
export function replicatedSettings(
  platform: SettingsValues | undefined,
  overrides: ReadonlyMap<string, SettingsValues>,
  nodeNames: Iterable<string>
): PlatformSettings {
  const machines: Record<string, SettingsValues> = {}
  for (const name of nodeNames) machines[name] = overrides.get(name) ?? {}
  return { platform: platform ?? {}, machines }
}

/**
 * Validates a logged change against the replicated settings with the platform's release. Pure and
 * deterministic: the writer runs it before appending and every node runs it again when applying.
 * The caller checks that a targeted node is a member.
 */
export function checkLoggedChange(current: PlatformSettings, change: LoggedSettingsChange, release = platformRelease()): ChangeValidation {
  const proposed: SettingsChange = {
    target: change.target,
    ...(change.set ? { set: change.set } : {}),
    ...(change.unset ? { unset: change.unset } : {})
  }
  return validateChange(release.schema, current, proposed, { templates: release.templates })
}
