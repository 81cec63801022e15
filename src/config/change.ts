import type { SettingsValues } from './layers.js'

/** The replicated settings state: what the log's applied revisions add up to. */
export interface PlatformSettings {
  readonly platform: SettingsValues
  /** Machine overrides by node id. */
  readonly machines: Readonly<Record<string, SettingsValues>>
}

export type ChangeTarget = { readonly kind: 'platform' } | { readonly kind: 'machine'; readonly nodeId: string }

/** One proposed log entry: `config set/unset`, an admin-UI save, or a rollback. */
export interface SettingsChange {
  readonly target: ChangeTarget
  readonly set?: Readonly<Record<string, unknown>>
  readonly unset?: readonly string[]
  /** `text`: string values come from the command line and are coerced ("8080" -> 8080). Default `typed`. */
  readonly input?: 'typed' | 'text'
}

/** The layer a change targets: the platform values or one node's overrides (empty if it has none). */
export function targetValues(state: PlatformSettings, target: ChangeTarget): SettingsValues {
  return target.kind === 'platform' ? state.platform : (state.machines[target.nodeId] ?? {})
}

/**
 * Applies a change that validateChange accepted (its returned `change`, typed values) to the state.
 * Pure and deterministic: every node applying the same log entry gets the same state.
 */
export function applyChange(state: PlatformSettings, change: SettingsChange): PlatformSettings {
  const values: Record<string, unknown> = { ...targetValues(state, change.target), ...change.set }
  for (const key of change.unset ?? []) delete values[key]
  return change.target.kind === 'platform'
    ? { platform: values, machines: state.machines }
    : { platform: state.platform, machines: { ...state.machines, [change.target.nodeId]: values } }
}
