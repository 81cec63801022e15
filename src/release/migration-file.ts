import { type FileProblems, isRecord, join, show } from './problems.js'
import { compileCodeStep } from './sandbox.js'
import { compareSemver, isSemver } from './semver.js'
import type { MigrationDef, MigrationStep } from './types.js'

/** `migrations/<from>-to-<to>.yaml` */
export const MIGRATION_FILE = /^migrations\/(.+)-to-(.+)\.yaml$/

const KEY = /^[a-z][a-zA-Z0-9]*\.[a-z][a-zA-Z0-9]*$/
const STEP_FIELDS: Readonly<Record<MigrationStep['op'], readonly string[]>> = {
  add: ['op', 'key', 'value', 'layer'],
  rename: ['op', 'from', 'to'],
  remove: ['op', 'key'],
  'set-default': ['op', 'key', 'value', 'layer'],
  code: ['op', 'description', 'source', 'file']
}
const LAYERS = ['platform', 'machines']

/**
 * One migration file. A code step's `file: x.js` (relative to migrations/) is read with `readCode`
 * and becomes its `source`; the source must compile as a function body.
 */
export function parseMigration(
  path: string,
  data: unknown,
  problems: FileProblems,
  readCode: (file: string) => string | undefined
): MigrationDef | undefined {
  const named = MIGRATION_FILE.exec(path)
  if (!isRecord(data)) {
    problems.add(undefined, `must be a map with from, to and steps, got ${show(data)}`, 'write "from: 1.0.0", "to: 1.1.0" and a "steps:" list')
    return undefined
  }
  problems.unknownKeys(data, ['from', 'to', 'steps'], '', 'field')
  let ok = true
  for (const key of ['from', 'to'] as const) {
    if (typeof data[key] !== 'string' || !isSemver(data[key])) {
      problems.add(key, `must be a semantic version, got ${show(data[key])}`, 'write MAJOR.MINOR.PATCH in quotes, e.g. "1.1.0"')
      ok = false
    }
  }
  if (ok) {
    const [from, to] = [data.from as string, data.to as string]
    if (compareSemver(from, to) >= 0) {
      problems.add('to', `${to} does not come after ${from}`, 'a migration goes from an older version to a newer one')
      ok = false
    }
    if (named && (named[1] !== from || named[2] !== to)) {
      problems.add(undefined, `the file name says ${named[1]} → ${named[2]} but the file says ${from} → ${to}`, `rename the file to migrations/${from}-to-${to}.yaml or correct from/to`)
      ok = false
    }
  }
  if (!Array.isArray(data.steps)) {
    problems.add('steps', data.steps === undefined ? 'is missing' : 'must be a list', 'list the steps, e.g. "- { op: rename, from: api.port, to: api.listenPort }" (an empty list is [])')
    return undefined
  }
  const steps: MigrationStep[] = []
  data.steps.forEach((raw, i) => {
    const step = parseStep(raw, `steps[${i}]`, problems, readCode)
    if (step) steps.push(step)
    else ok = false
  })
  return ok ? { from: data.from as string, to: data.to as string, steps } : undefined
}

function parseStep(raw: unknown, field: string, problems: FileProblems, readCode: (file: string) => string | undefined): MigrationStep | undefined {
  if (!isRecord(raw) || typeof raw.op !== 'string' || !(raw.op in STEP_FIELDS)) {
    problems.add(join(field, 'op'), `must be one of ${Object.keys(STEP_FIELDS).join(', ')}, got ${show(isRecord(raw) ? raw.op : raw)}`, 'give every step an op')
    return undefined
  }
  const op = raw.op as MigrationStep['op']
  const before = problems.count
  problems.unknownKeys(raw, STEP_FIELDS[op], field, `field of a ${op} step`)
  const key = (name: string): void => {
    if (typeof raw[name] !== 'string' || !KEY.test(raw[name] as string)) {
      problems.add(join(field, name), `must be a setting key group.name, got ${show(raw[name])}`, 'write the key as in the schema, e.g. api.port')
    }
  }
  switch (op) {
    case 'add':
    case 'set-default':
      key('key')
      if (raw.value === undefined) problems.add(join(field, 'value'), 'is missing', 'give the value to set (null is a value)')
      if (raw.layer !== undefined && !LAYERS.includes(raw.layer as string)) {
        problems.add(join(field, 'layer'), `must be platform or machines, got ${show(raw.layer)}`, 'platform (the default): the platform values; machines: every node\'s overrides')
      }
      break
    case 'rename':
      key('from')
      key('to')
      if (raw.from === raw.to && typeof raw.from === 'string') problems.add(join(field, 'to'), 'is the same key as from', 'rename to a different key, or remove the step')
      break
    case 'remove':
      key('key')
      break
    case 'code':
      return parseCodeStep(raw, field, problems, readCode, before)
  }
  return problems.count === before ? (raw as unknown as MigrationStep) : undefined
}

function parseCodeStep(
  raw: Record<string, unknown>,
  field: string,
  problems: FileProblems,
  readCode: (file: string) => string | undefined,
  before: number
): MigrationStep | undefined {
  if (typeof raw.description !== 'string' || raw.description === '') {
    problems.add(join(field, 'description'), 'is missing', 'say in one line what the step does; operators see it in the migration plan')
  }
  let source: string | undefined
  if (typeof raw.source === 'string' && raw.file === undefined) source = raw.source
  else if (typeof raw.file === 'string' && raw.source === undefined) {
    source = readCode(raw.file)
    if (source === undefined) problems.add(join(field, 'file'), `migrations/${raw.file} is not in the bundle`, 'add the file next to the migration, or correct the name')
  } else {
    problems.add(field, 'needs either source (inline) or file (a .js in migrations/), not both', 'give the function body inline as source: | …, or in a file as file: x.js')
  }
  if (source !== undefined) {
    try {
      compileCodeStep(source)
    } catch (err) {
      problems.add(join(field, raw.file === undefined ? 'source' : 'file'), `does not compile: ${(err as Error).message}`, 'write the body of a function (values, layer) that returns the new values object')
    }
  }
  if (problems.count !== before || source === undefined) return undefined
  return { op: 'code', description: raw.description as string, source }
}
