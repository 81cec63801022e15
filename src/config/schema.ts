import { SchemaDefinitionError } from './errors.js'
import { checkValue } from './values.js'

/**
 * Where a setting may be set: `platform` = one replicated value for every node; `machine` = per node
 * only (an address, a listen interface); `both` = platform value that a node may override.
 */
export type Scope = 'platform' | 'machine' | 'both'

/** `cidr`: an IP address, or a prefix "address/length"; `path`: an absolute file system path. */
export type StringFormat = 'hostname' | 'url' | 'email' | 'ipv4' | 'ip' | 'cidr' | 'path'

export type TypeSpec =
  | {
      readonly type: 'string'
      readonly minLength?: number
      readonly maxLength?: number
      /** Anchored automatically: the whole value must match. */
      readonly pattern?: string
      readonly format?: StringFormat
    }
  | { readonly type: 'integer'; readonly min?: number; readonly max?: number; readonly format?: 'port' }
  | { readonly type: 'number'; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean' }
  | { readonly type: 'enum'; readonly values: readonly string[] }
  | { readonly type: 'list'; readonly items: TypeSpec; readonly minItems?: number; readonly maxItems?: number }
  /** Free keys, every value of one type. */
  | { readonly type: 'map'; readonly values: TypeSpec }
  /** Fixed fields; a field is required unless `optional`. */
  | { readonly type: 'object'; readonly fields: Readonly<Record<string, FieldSpec>> }
  /** Any JSON value: for hooks whose shape belongs to the consuming service. */
  | { readonly type: 'json' }

export type FieldSpec = TypeSpec & { readonly optional?: boolean }

/** How a secret is generated at init. Always from a CSPRNG, never from a default. */
export type SecretGenerator =
  | { readonly kind: 'random'; readonly bytes: number; readonly encoding: 'base64url' | 'hex' }
  | { readonly kind: 'uuid' }

export type SettingDef = TypeSpec & {
  readonly description: string
  readonly scope: Scope
  /** Services whose rendered configuration uses this setting. */
  readonly consumers: readonly string[]
  /** Absent = required (unless generated). Secrets may only default to null. */
  readonly default?: unknown
  /** `null` is a meaningful value (e.g. "no restriction"). */
  readonly nullable?: boolean
  /** Masked in every diff, explanation and description; any type (an SMS provider's headers, say). */
  readonly secret?: true
  /** String secrets only: generated at init when absent. */
  readonly generate?: SecretGenerator
}

export interface GroupDef {
  readonly title: string
  readonly description?: string
  readonly settings: Readonly<Record<string, SettingDef>>
}

export interface SchemaDef {
  readonly name: string
  readonly groups: Readonly<Record<string, GroupDef>>
}

/** One setting of a compiled schema. */
export interface Setting {
  /** `group.name`: the only name operators, layers and templates use. */
  readonly key: string
  readonly group: string
  readonly name: string
  /** `PRYV_<GROUP>_<NAME>` in upper snake case. */
  readonly envName: string
  readonly def: SettingDef
}

export interface SchemaGroup {
  readonly name: string
  readonly title: string
  readonly description?: string
  readonly keys: readonly string[]
}

export interface Schema {
  readonly name: string
  readonly groups: readonly SchemaGroup[]
  /** In declaration order. */
  readonly settings: ReadonlyMap<string, Setting>
  readonly byEnvName: ReadonlyMap<string, Setting>
}

const NAME = /^[a-z][a-zA-Z0-9]*$/

export function envNameOf(group: string, name: string): string {
  const snake = (s: string): string => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
  return `PRYV_${snake(group)}_${snake(name)}`
}

/** A setting with neither default nor generator must be given by the operator. */
export function isRequired(def: SettingDef): boolean {
  return def.default === undefined && def.generate === undefined
}

/** Validates a schema definition and compiles it; throws SchemaDefinitionError listing every problem. */
export function defineSchema(def: SchemaDef): Schema {
  const problems: string[] = []
  const settings = new Map<string, Setting>()
  const byEnvName = new Map<string, Setting>()
  const groups: SchemaGroup[] = []

  for (const [groupName, group] of Object.entries(def.groups)) {
    if (!NAME.test(groupName)) problems.push(`group '${groupName}': name must be lowerCamelCase`)
    const keys: string[] = []
    for (const [name, setting] of Object.entries(group.settings)) {
      const key = `${groupName}.${name}`
      if (!NAME.test(name)) problems.push(`'${key}': name must be lowerCamelCase`)
      problems.push(...checkSettingDef(key, setting))
      const compiled: Setting = { key, group: groupName, name, envName: envNameOf(groupName, name), def: setting }
      const clash = byEnvName.get(compiled.envName)
      if (clash) problems.push(`'${key}' and '${clash.key}' share the variable ${compiled.envName}`)
      settings.set(key, compiled)
      byEnvName.set(compiled.envName, compiled)
      keys.push(key)
    }
    groups.push({ name: groupName, title: group.title, description: group.description, keys })
  }
  if (problems.length > 0) throw new SchemaDefinitionError(def.name, problems)
  return { name: def.name, groups, settings, byEnvName }
}

function checkSettingDef(key: string, def: SettingDef): string[] {
  const problems: string[] = []
  if (!['platform', 'machine', 'both'].includes(def.scope)) problems.push(`'${key}': unknown scope '${def.scope}'`)
  if (def.description.trim() === '') problems.push(`'${key}': description is empty`)
  if (def.consumers.length === 0) problems.push(`'${key}': no consumers listed`)
  const typeProblems = checkTypeSpec(key, def)
  problems.push(...typeProblems)
  if (def.secret && def.default !== undefined && def.default !== null) {
    problems.push(`'${key}': a secret cannot have a default value`)
  }
  if (def.generate && !(def.secret && def.type === 'string')) problems.push(`'${key}': only string secrets are generated`)
  if (def.generate?.kind === 'random' && !(Number.isInteger(def.generate.bytes) && def.generate.bytes >= 16)) {
    problems.push(`'${key}': generated secrets need at least 16 random bytes`)
  }
  // A broken type spec (say, an invalid pattern) cannot check anything.
  if (typeProblems.length === 0 && def.default !== undefined && !(def.default === null && def.nullable)) {
    for (const p of checkValue(def, def.default, key)) problems.push(`'${key}': default is invalid: ${p.message}`)
  }
  if (def.default === null && !def.nullable) problems.push(`'${key}': default is null but the setting is not nullable`)
  return problems
}

function checkTypeSpec(path: string, spec: TypeSpec): string[] {
  switch (spec.type) {
    case 'string':
      if (spec.pattern === undefined) return []
      try {
        new RegExp(spec.pattern)
        return []
      } catch {
        return [`'${path}': pattern is not a valid regular expression`]
      }
    case 'integer':
    case 'number':
      return spec.min !== undefined && spec.max !== undefined && spec.min > spec.max ? [`'${path}': min > max`] : []
    case 'enum':
      return spec.values.length === 0 ? [`'${path}': enum has no values`] : []
    case 'list':
      return checkTypeSpec(`${path}[]`, spec.items)
    case 'map':
      return checkTypeSpec(`${path}.*`, spec.values)
    case 'object':
      return Object.entries(spec.fields).flatMap(([name, field]) => checkTypeSpec(`${path}.${name}`, field))
    default:
      return []
  }
}
