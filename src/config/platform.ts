import type { ChangeTarget, PlatformSettings, SettingsChange } from './change.js'
import type { SettingsValues } from './layers.js'
import type { ServiceTemplates } from './render.js'
import { defineSchema, type Schema, type SchemaDef } from './schema.js'
import { demoSchemaDef } from './schemas/demo.js'
import { dnsSettingsGroup } from './schemas/pryv-io.js'
import { demoTemplates } from './templates/demo.js'
import { type ChangeValidation, validateChange } from './validate.js'

/** What a platform's settings are checked and rendered with: its release's schema and templates. */
export interface PlatformRelease {
  readonly schema: Schema
  readonly templates: readonly ServiceTemplates[]
}

/**
 * The node's own settings (its DNS server) are part of every release's schema, whatever the release
 * ships, so that every platform's zone is built from the same keys.
 */
function withNodeSettings(def: SchemaDef): Schema {
  return defineSchema({ ...def, groups: { ...def.groups, dns: dnsSettingsGroup } })
}

const DEMO_RELEASE: PlatformRelease = { schema: withNodeSettings(demoSchemaDef), templates: demoTemplates }

/**
 * The release every platform runs with. Until releases are built and replicated, this is the demo
 * release for every platform; the release work replaces this one function (it will take the state).
 */
export function platformRelease(): PlatformRelease {
  return DEMO_RELEASE
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
