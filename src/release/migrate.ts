import { validateLayer } from '../config/validate.js'
import type { SettingProblem } from '../config/errors.js'
import { effectiveSettings, type SettingsValues } from '../config/layers.js'
import type { Schema } from '../config/schema.js'
import { MigrationPathError, MigrationStepError } from './errors.js'
import { CodeStepFailure, type CodeStepLayer, runCodeStep } from './sandbox.js'
import { compareSemver } from './semver.js'
import type { MigrationDef, MigrationStep, SettingsSnapshot } from './types.js'

/** One change a migration made to one layer; `text` is the line operators read. Values are never shown (secrets). */
export interface MigrationChange {
  /** `<from>-to-<to>`, as the migration's file is named. */
  readonly migration: string
  /** Index of the step in the migration (0-based). */
  readonly step: number
  /** `platform` or `machine <node>`. */
  readonly layer: string
  readonly key: string
  readonly action: 'added' | 'changed' | 'removed' | 'renamed'
  /** The new key, for `renamed`. */
  readonly to?: string
  readonly text: string
}

export interface MigrationResult {
  readonly snapshot: SettingsSnapshot
  readonly changes: readonly MigrationChange[]
}

/**
 * The shortest chain of migrations from `fromVersion` to `toVersion` (fewest migrations; among equal
 * ones, the one taking the largest steps first). Same version: no migration. Throws
 * MigrationPathError naming the versions and the migrations there are.
 */
export function migrationPath(migrations: readonly MigrationDef[], fromVersion: string, toVersion: string): MigrationDef[] {
  if (fromVersion === toVersion) return []
  const edges = new Map<string, MigrationDef[]>()
  for (const m of [...migrations].sort((a, b) => compareSemver(b.to, a.to))) edges.set(m.from, [...(edges.get(m.from) ?? []), m])
  const reachedBy = new Map<string, MigrationDef | null>([[fromVersion, null]])
  let frontier = [fromVersion]
  while (frontier.length > 0 && !reachedBy.has(toVersion)) {
    const next: string[] = []
    for (const version of frontier) {
      for (const m of edges.get(version) ?? []) {
        if (reachedBy.has(m.to)) continue
        reachedBy.set(m.to, m)
        next.push(m.to)
      }
    }
    frontier = next
  }
  if (!reachedBy.has(toVersion)) throw new MigrationPathError(fromVersion, toVersion, migrations.map(migrationName))
  const path: MigrationDef[] = []
  for (let m = reachedBy.get(toVersion); m; m = reachedBy.get(m.from)) path.unshift(m)
  return path
}

/**
 * The migrations an upgrade runs: a plain version bump, with no migration going past the running
 * version, runs none (the settings are then checked against the new schema as they are); otherwise
 * the path of migrationPath.
 */
export function upgradePath(migrations: readonly MigrationDef[], fromVersion: string, toVersion: string): MigrationDef[] {
  const plainBump = compareSemver(toVersion, fromVersion) > 0 && migrations.every((m) => compareSemver(m.to, fromVersion) <= 0)
  return plainBump ? [] : migrationPath(migrations, fromVersion, toVersion)
}

export function migrationName(m: Pick<MigrationDef, 'from' | 'to'>): string {
  return `${m.from}-to-${m.to}`
}

/**
 * Applies the migrations of a path, in order, to the platform layer and every machine layer:
 *
 * - `add` sets the key (replacing any value) in the platform layer, or with `layer: machines` in
 *   every node's overrides; `set-default` does the same only where the key is absent;
 * - `rename` moves the value from one key to the other in every layer that has it (replacing a
 *   value already under the new key); `remove` deletes the key from every layer;
 * - `code` runs the step's function once per layer (see sandbox.ts) and takes what it returns.
 *
 * Pure: the snapshot given is not modified. Throws MigrationStepError (migration and step named)
 * when a code step fails; the caller then keeps the old settings.
 */
export function migrateSettings(snapshot: SettingsSnapshot, path: readonly MigrationDef[]): MigrationResult {
  const layers: Layer[] = [
    { name: 'platform', code: { kind: 'platform' }, machine: false, values: { ...structuredClone(snapshot.platform) } },
    ...Object.keys(snapshot.machines).sort().map((node): Layer => ({
      name: `machine ${node}`,
      code: { kind: 'machine', node },
      machine: true,
      values: { ...structuredClone(snapshot.machines[node]!) }
    }))
  ]
  const changes: MigrationChange[] = []
  for (const migration of path) {
    migration.steps.forEach((step, index) => {
      for (const layer of layers) {
        const note = (key: string, action: MigrationChange['action'], to?: string): void => {
          const what = action === 'renamed' ? `renamed ${key} → ${to}` : `${action} ${key}`
          changes.push({ migration: migrationName(migration), step: index, layer: layer.name, key, action, ...(to ? { to } : {}), text: `${migration.from} → ${migration.to}, step ${index + 1}: ${what} (${layer.name})` })
        }
        applyStep(step, layer, note, (detail) => new MigrationStepError(migrationName(migration), index, detail))
      }
    })
  }
  const [platform, ...machines] = layers
  return {
    snapshot: { platform: platform!.values, machines: Object.fromEntries(machines.map((l) => [(l.code as { node: string }).node, l.values])) },
    changes
  }
}

interface Layer {
  readonly name: string
  readonly code: CodeStepLayer
  readonly machine: boolean
  values: Record<string, unknown>
}

function applyStep(
  step: MigrationStep,
  layer: Layer,
  note: (key: string, action: MigrationChange['action'], to?: string) => void,
  fail: (detail: string) => Error
): void {
  const values = layer.values
  switch (step.op) {
    case 'add':
    case 'set-default': {
      if ((step.layer === 'machines') !== layer.machine) return
      const present = Object.hasOwn(values, step.key)
      if (present && step.op === 'set-default') return
      values[step.key] = structuredClone(step.value)
      note(step.key, present ? 'changed' : 'added')
      return
    }
    case 'rename':
      if (!Object.hasOwn(values, step.from)) return
      values[step.to] = values[step.from]
      delete values[step.from]
      note(step.from, 'renamed', step.to)
      return
    case 'remove':
      if (!Object.hasOwn(values, step.key)) return
      delete values[step.key]
      note(step.key, 'removed')
      return
    case 'code': {
      let next: Record<string, unknown>
      try {
        next = runCodeStep(step.source, values, layer.code)
      } catch (err) {
        if (err instanceof CodeStepFailure) throw fail(`code step "${step.description}" on the ${layer.name} values ${err.message}`)
        throw err
      }
      for (const key of Object.keys(values)) if (!Object.hasOwn(next, key)) note(key, 'removed')
      for (const [key, value] of Object.entries(next)) {
        if (!Object.hasOwn(values, key)) note(key, 'added')
        else if (JSON.stringify(values[key]) !== JSON.stringify(value)) note(key, 'changed')
      }
      layer.values = next
      return
    }
  }
}

/**
 * Every problem of migrated settings under the new release's schema: keys it does not know (a
 * migration is missing a rename or remove), values of the wrong type or scope, and required settings
 * left without a value on some node. Empty when the release can be applied.
 */
export function checkMigratedSettings(schema: Schema, snapshot: SettingsSnapshot): SettingProblem[] {
  const explain = (p: SettingProblem, where: string): SettingProblem => ({
    ...p,
    message: `${p.message} (${where})`,
    ...(p.code === 'PRYV_SETTING_UNKNOWN' ? { hint: `release schema '${schema.name}' has no such setting: the release's migrations should rename or remove it` } : {})
  })
  const problems = validateLayer(schema, 'platform', snapshot.platform).map((p) => explain(p, 'platform values'))
  const nodes = Object.keys(snapshot.machines).sort()
  for (const node of nodes) {
    problems.push(...validateLayer(schema, 'machine', snapshot.machines[node]!).map((p) => explain(p, `overrides of node ${node}`)))
  }
  const missingOn = new Map<string, string[]>()
  for (const node of nodes.length > 0 ? nodes : [undefined]) {
    const machine: SettingsValues | undefined = node === undefined ? undefined : snapshot.machines[node]
    for (const key of effectiveSettings(schema, { platform: snapshot.platform, machine }).missing) {
      missingOn.set(key, [...(missingOn.get(key) ?? []), ...(node === undefined ? [] : [node])])
    }
  }
  for (const [key, on] of missingOn) {
    const scope = schema.settings.get(key)!.def.scope
    problems.push({
      code: 'PRYV_SETTING_REQUIRED',
      key,
      message: `'${key}' is required and has no value${on.length > 0 ? ` (on ${on.length === 1 ? 'node' : 'nodes'} ${on.join(', ')})` : ''}`,
      hint: `add a set-default step for it to the release's migration${scope === 'machine' ? ' (layer: machines)' : ''}, or give it a default in the release's schema`
    })
  }
  return problems
}
