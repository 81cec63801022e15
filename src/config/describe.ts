import { isRequired, type Schema, type Scope, type Setting, type TypeSpec } from './schema.js'

/** One setting as an admin UI form needs it: plain JSON, no functions. */
export interface SettingDescription {
  readonly key: string
  readonly group: string
  readonly name: string
  readonly envName: string
  readonly description: string
  readonly scope: Scope
  readonly type: TypeSpec
  readonly nullable: boolean
  readonly required: boolean
  readonly secret: boolean
  /** True when init generates the value. */
  readonly generated: boolean
  readonly default?: unknown
  readonly consumers: readonly string[]
}

export interface SchemaDescription {
  readonly schema: string
  readonly groups: readonly {
    readonly name: string
    readonly title: string
    readonly description?: string
    readonly settings: readonly SettingDescription[]
  }[]
}

export function describeSchemaJson(schema: Schema): SchemaDescription {
  return {
    schema: schema.name,
    groups: schema.groups.map((group) => ({
      name: group.name,
      title: group.title,
      ...(group.description ? { description: group.description } : {}),
      settings: group.keys.map((key) => describeSetting(schema.settings.get(key)!))
    }))
  }
}

function describeSetting(setting: Setting): SettingDescription {
  const { description, scope, consumers, nullable, secret, generate, default: defaultValue, ...type } = setting.def
  return {
    key: setting.key,
    group: setting.group,
    name: setting.name,
    envName: setting.envName,
    description,
    scope,
    type: type as TypeSpec,
    nullable: nullable === true,
    required: isRequired(setting.def),
    secret: secret === true,
    generated: generate !== undefined,
    ...(defaultValue !== undefined ? { default: defaultValue } : {}),
    consumers
  }
}

/** Human help text: `pryv-node config describe`. */
export function describeSchema(schema: Schema): string {
  const lines: string[] = [`Settings (${schema.name})`]
  for (const group of describeSchemaJson(schema).groups) {
    lines.push('', `${group.name} — ${group.title}`)
    if (group.description) lines.push(`  ${group.description}`)
    for (const s of group.settings) {
      const flags = [s.scope === 'platform' ? 'platform-wide' : s.scope === 'machine' ? 'per machine' : 'platform, machine override allowed']
      if (s.secret) flags.push(s.generated ? 'secret, generated at init' : 'secret')
      lines.push(`  ${s.key}  ${typeText(s.type)}${s.nullable ? ' or null' : ''}  [${flags.join('; ')}]`)
      lines.push(`      ${s.description}`)
      lines.push(`      ${s.required ? 'required' : s.generated ? 'generated' : `default: ${JSON.stringify(s.default)}`}; env ${s.envName}; used by ${s.consumers.join(', ')}`)
    }
  }
  return `${lines.join('\n')}\n`
}

function typeText(spec: TypeSpec): string {
  switch (spec.type) {
    case 'string': {
      const parts = [spec.format, spec.pattern && `/${spec.pattern}/`, lengthText(spec.minLength, spec.maxLength)]
      const detail = parts.filter(Boolean).join(', ')
      return detail ? `string (${detail})` : 'string'
    }
    case 'integer':
      if (spec.format === 'port') return 'port'
      return spec.min !== undefined || spec.max !== undefined ? `integer ${spec.min ?? ''}..${spec.max ?? ''}` : 'integer'
    case 'number':
      return spec.min !== undefined || spec.max !== undefined ? `number ${spec.min ?? ''}..${spec.max ?? ''}` : 'number'
    case 'enum':
      return spec.values.join('|')
    case 'list':
      return `list of ${typeText(spec.items)}`
    case 'map':
      return `map of ${typeText(spec.values)}`
    case 'object':
      return `{ ${Object.entries(spec.fields)
        .map(([name, field]) => `${name}${field.optional ? '?' : ''}: ${typeText(field)}`)
        .join(', ')} }`
    default:
      return spec.type
  }
}

function lengthText(min: number | undefined, max: number | undefined): string | undefined {
  if (min === undefined && max === undefined) return undefined
  return `${min ?? 0}..${max ?? ''} chars`
}
