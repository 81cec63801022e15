import type { GroupDef, SchemaDef, SettingDef } from '../config/schema.js'
import { NODE_SETTINGS_GROUPS } from './compile.js'
import { type FileProblems, isRecord, isStringList, join, show } from './problems.js'

/**
 * schema.yaml: a SchemaDef (src/config/schema.ts) in YAML. This checks only its shape, so that
 * defineSchema can then check its meaning (names, defaults, generators) without tripping on a
 * missing field.
 */

const TYPE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  string: ['minLength', 'maxLength', 'pattern', 'format'],
  integer: ['min', 'max', 'format'],
  number: ['min', 'max'],
  boolean: [],
  enum: ['values'],
  list: ['items', 'minItems', 'maxItems'],
  map: ['values'],
  object: ['fields'],
  json: []
}
const SETTING_FIELDS = ['description', 'scope', 'consumers', 'default', 'nullable', 'secret', 'generate'] as const
const STRING_FORMATS = ['hostname', 'url', 'email', 'ipv4', 'ip', 'cidr', 'path']
const SCOPES = ['platform', 'machine', 'both']

export function parseSchemaDef(data: unknown, problems: FileProblems): SchemaDef | undefined {
  if (!isRecord(data)) {
    problems.add(undefined, `must be a map with name and groups, got ${show(data)}`, 'write "name: <schema name>" and a "groups:" map')
    return undefined
  }
  problems.unknownKeys(data, ['name', 'groups'], '', 'field')
  let ok = true
  if (typeof data.name !== 'string' || data.name === '') {
    problems.add('name', 'is missing', 'name the schema, e.g. "name: pryv.io"')
    ok = false
  }
  if (!isRecord(data.groups) || Object.keys(data.groups).length === 0) {
    problems.add('groups', 'must be a non-empty map of groups', 'e.g. groups: { platform: { title: Platform, settings: { … } } }')
    return undefined
  }
  for (const [name, { reader }] of Object.entries(NODE_SETTINGS_GROUPS)) {
    if (!Object.hasOwn(data.groups, name)) continue
    problems.add(`groups.${name}`, `group '${name}' belongs to the node (${reader}) and is added to every release's schema`, 'remove the group from schema.yaml; its settings (`pryv-node config describe`) are there anyway')
    ok = false
  }
  for (const [name, group] of Object.entries(data.groups)) ok = checkGroup(group, `groups.${name}`, problems) && ok
  return ok ? (data as unknown as SchemaDef) : undefined
}

function checkGroup(group: unknown, field: string, problems: FileProblems): group is GroupDef {
  if (!isRecord(group)) {
    problems.add(field, 'must be a map with title and settings', 'e.g. { title: Platform, settings: { … } }')
    return false
  }
  problems.unknownKeys(group, ['title', 'description', 'settings'], field, 'group field')
  let ok = true
  if (typeof group.title !== 'string') {
    problems.add(join(field, 'title'), 'is missing', 'give the group a title shown in help and forms')
    ok = false
  }
  if (group.description !== undefined && typeof group.description !== 'string') {
    problems.add(join(field, 'description'), 'must be text', 'write one sentence')
    ok = false
  }
  if (!isRecord(group.settings)) {
    problems.add(join(field, 'settings'), 'must be a map of settings', 'e.g. settings: { port: { type: integer, … } }')
    return false
  }
  for (const [name, setting] of Object.entries(group.settings)) ok = checkSetting(setting, join(field, `settings.${name}`), problems) && ok
  return ok
}

function checkSetting(setting: unknown, field: string, problems: FileProblems): setting is SettingDef {
  if (!isRecord(setting)) {
    problems.add(field, 'must be a map', 'give it a type, description, scope and consumers')
    return false
  }
  let ok = checkTypeSpec(setting, field, problems, SETTING_FIELDS)
  if (typeof setting.description !== 'string') {
    problems.add(join(field, 'description'), 'is missing', 'describe the setting in one sentence')
    ok = false
  }
  if (typeof setting.scope !== 'string' || !SCOPES.includes(setting.scope)) {
    problems.add(join(field, 'scope'), `must be one of ${SCOPES.join(', ')}, got ${show(setting.scope)}`, 'platform: one value; machine: per node only; both: platform value a node may override')
    ok = false
  }
  if (!isStringList(setting.consumers)) {
    problems.add(join(field, 'consumers'), 'must be a list of service names', 'list the services whose configuration uses it')
    ok = false
  }
  for (const flag of ['nullable', 'secret'] as const) {
    if (setting[flag] !== undefined && typeof setting[flag] !== 'boolean') {
      problems.add(join(field, flag), 'must be true or false', `write ${flag}: true or leave it out`)
      ok = false
    }
  }
  if (setting.secret === false) {
    problems.add(join(field, 'secret'), 'can only be true', 'leave it out for a setting that is not secret')
    ok = false
  }
  if (setting.generate !== undefined && !isGenerator(setting.generate)) {
    problems.add(join(field, 'generate'), `is not a generator, got ${show(setting.generate)}`, 'write { kind: random, bytes: 32, encoding: base64url|hex } or { kind: uuid }')
    ok = false
  }
  return ok
}

function isGenerator(value: unknown): boolean {
  if (!isRecord(value)) return false
  if (value.kind === 'uuid') return Object.keys(value).length === 1
  return value.kind === 'random' && typeof value.bytes === 'number' && (value.encoding === 'base64url' || value.encoding === 'hex') && Object.keys(value).length === 3
}

/** Checks a type spec's fields (recursively); `extra` are the fields its container allows beside them. */
function checkTypeSpec(spec: Record<string, unknown>, field: string, problems: FileProblems, extra: readonly string[]): boolean {
  const type = spec.type
  if (typeof type !== 'string' || !(type in TYPE_FIELDS)) {
    problems.add(join(field, 'type'), `must be one of ${Object.keys(TYPE_FIELDS).join(', ')}, got ${show(type)}`, 'give the setting a type')
    return false
  }
  problems.unknownKeys(spec, ['type', ...TYPE_FIELDS[type]!, ...extra], field, `${type} field`)
  let ok = true
  const bad = (key: string, message: string, fix: string): void => {
    problems.add(join(field, key), message, fix)
    ok = false
  }
  for (const key of ['minLength', 'maxLength', 'min', 'max', 'minItems', 'maxItems']) {
    if (spec[key] !== undefined && typeof spec[key] !== 'number') bad(key, `must be a number, got ${show(spec[key])}`, `write e.g. ${key}: 1`)
  }
  const nested = (value: unknown, at: string, allowed: readonly string[]): void => {
    if (!isRecord(value)) bad(at, `must be a type, got ${show(value)}`, 'e.g. { type: string }')
    else if (!checkTypeSpec(value, join(field, at), problems, allowed)) ok = false
  }
  switch (type) {
    case 'string':
      if (spec.pattern !== undefined && typeof spec.pattern !== 'string') bad('pattern', 'must be a regular expression in text', 'quote it')
      if (spec.format !== undefined && !STRING_FORMATS.includes(spec.format as string)) {
        bad('format', `must be one of ${STRING_FORMATS.join(', ')}, got ${show(spec.format)}`, 'use a known format or a pattern')
      }
      break
    case 'integer':
      if (spec.format !== undefined && spec.format !== 'port') bad('format', `can only be port, got ${show(spec.format)}`, 'write format: port or use min/max')
      break
    case 'enum':
      if (!isStringList(spec.values) || spec.values.length === 0) bad('values', 'must be a non-empty list of text', 'e.g. values: [error, warn, info]')
      break
    case 'list':
      nested(spec.items, 'items', [])
      break
    case 'map':
      nested(spec.values, 'values', [])
      break
    case 'object':
      if (!isRecord(spec.fields)) bad('fields', 'must be a map of field name to type', 'e.g. fields: { host: { type: string } }')
      else {
        for (const [name, fieldSpec] of Object.entries(spec.fields)) {
          nested(fieldSpec, `fields.${name}`, ['optional'])
          if (isRecord(fieldSpec) && fieldSpec.optional !== undefined && typeof fieldSpec.optional !== 'boolean') {
            bad(`fields.${name}.optional`, 'must be true or false', 'write optional: true or leave it out')
          }
        }
      }
      break
  }
  return ok
}
