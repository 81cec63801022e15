import type { TemplateProblem } from '../config/errors.js'
import { checkReleaseTemplates } from '../config/release-check.js'
import type { ServiceTemplates } from '../config/render.js'
import type { Schema, SchemaDef } from '../config/schema.js'
import { unknownMessage } from '../config/suggest.js'
import { checkSettingValue } from '../config/values.js'
import { NODE_CONSUMER, NODE_REGISTRY_CONSUMER } from './compile.js'
import { envProblemMessage, envTemplates, envVariableOf } from './env.js'
import type { ReleaseProblem } from './errors.js'
import type { Manifest } from './manifest.js'
import { migrationPath } from './migrate.js'
import { dependencyOrder } from './order.js'
import { FileProblems } from './problems.js'
import { compareSemver } from './semver.js'
import { PROCESS_ONLY } from './specs.js'
import type { MigrationDef } from './types.js'

/** What the bundle's files parsed into; checked against each other here. */
export interface BundleParts {
  readonly manifest: Manifest
  readonly schemaDef?: SchemaDef
  /** The compiled platform schema (the bundle's plus the node's group); absent when schema.yaml is broken. */
  readonly schema?: Schema
  readonly templates: readonly ServiceTemplates[]
  readonly files: Readonly<Record<string, string>>
  readonly migrations: readonly { readonly file: string; readonly def: MigrationDef }[]
}

const RELEASE_FILE = /\{release\}\/(files\/[^\s'"]+)/g

/** Every problem between the bundle's parts: services, templates, schema consumers, migrations. */
export function checkBundle(parts: BundleParts, sink: ReleaseProblem[]): void {
  checkServices(parts, new FileProblems('release.yaml', sink))
  checkMigrations(parts, sink)
  // With no service parsed, every template and consumer would look foreign.
  if (parts.manifest.services.length === 0) return
  checkTemplates(parts, sink)
  if (parts.schemaDef) checkConsumers(parts.manifest, parts.schemaDef, new FileProblems('schema.yaml', sink))
}

function checkServices({ manifest, schema, files }: BundleParts, problems: FileProblems): void {
  const names = manifest.services.map((s) => s.name)
  const dnsOwners = new Map<string, string>()
  for (const service of manifest.services) {
    const field = `services.${service.name}`
    for (const dep of service.dependsOn ?? []) {
      if (dep === service.name) problems.add(`${field}.dependsOn`, 'lists the service itself', `remove ${dep} from its dependsOn`)
      else if (!names.includes(dep)) problems.add(`${field}.dependsOn`, unknownMessage('service', dep, names), `list services of this release (${names.join(', ')})`)
    }
    for (const label of service.dnsNames ?? []) {
      const owner = dnsOwners.get(label)
      if (owner !== undefined) problems.add(`${field}.dnsNames`, `'${label}' is also a DNS name of ${owner}`, 'give each DNS name to one service')
      else dnsOwners.set(label, service.name)
    }
    const words = [service.command ?? '', ...(service.args ?? [])]
    for (const word of words) {
      for (const [, path] of word.matchAll(RELEASE_FILE)) {
        if (!Object.hasOwn(files, path!)) problems.add(`${field}.args`, `uses {release}/${path}, which is not in the bundle`, `add ${path} to the bundle, or correct the path`)
      }
    }
    const probe = service.health?.probe
    if (probe?.kind === 'command' && service.image !== undefined && [probe.command, ...(probe.args ?? [])].some((w) => PROCESS_ONLY.test(w))) {
      problems.add(`${field}.health.probe`, 'uses {node} or {release}, which exist only for the process backend, but the service has an image: with Docker the probe runs inside it', 'write a probe that works inside the image too (e.g. sh -c "…" with $PRYV_CONFIG_DIR or $PRYV_DATA_DIR)')
    }
    if (schema && service.env) {
      for (const p of checkReleaseTemplates(schema, [envTemplates(service)])) {
        problems.add(`${field}.env.${envVariableOf(p)}`, envProblemMessage(p), templateFix(p))
      }
    }
  }
  const { cycle } = dependencyOrder(manifest.services)
  if (cycle) problems.add(`services.${cycle[0]}.dependsOn`, `dependency cycle: ${cycle.join(' → ')}`, 'remove one of these dependencies: services start after the ones they depend on')
}

function checkTemplates({ manifest, schema, templates }: BundleParts, sink: ReleaseProblem[]): void {
  const names = manifest.services.map((s) => s.name)
  const known = templates.filter((t) => names.includes(t.service))
  for (const t of templates) {
    if (names.includes(t.service)) continue
    new FileProblems(`templates/${t.service}/`, sink).add(undefined, unknownMessage('service', t.service, names), `name the directory after a service of release.yaml (${names.join(', ')}), or declare the service`)
  }
  if (!schema) return
  for (const p of checkReleaseTemplates(schema, known)) {
    new FileProblems(`templates/${p.service}/${p.file}`, sink).add(p.key, p.message.replace(`${p.service}/${p.file}: `, ''), templateFix(p))
  }
}

function templateFix(p: TemplateProblem): string {
  switch (p.code) {
    case 'PRYV_TEMPLATE_UNKNOWN_SETTING':
      return 'use a key of schema.yaml (group.name)'
    case 'PRYV_TEMPLATE_UNDECLARED_CONSUMER':
      return `add ${p.service} to the consumers of '${p.key}' in schema.yaml`
    case 'PRYV_TEMPLATE_PATH':
      return 'put templates under templates/<service>/conf/ or templates/<service>/templates/'
    default:
      return 'correct the template (see src/config/README.md, Templates)'
  }
}

/** Every consumer of the bundle's settings is one of its services (or the node): a misspelt one would never restart. */
function checkConsumers(manifest: Manifest, schemaDef: SchemaDef, problems: FileProblems): void {
  const names = manifest.services.map((s) => s.name)
  for (const [group, def] of Object.entries(schemaDef.groups)) {
    for (const [name, setting] of Object.entries(def.settings)) {
      for (const consumer of setting.consumers) {
        if (names.includes(consumer) || consumer === NODE_CONSUMER || consumer === NODE_REGISTRY_CONSUMER) continue
        problems.add(`groups.${group}.settings.${name}.consumers`, unknownMessage('service', consumer, names), `list services of release.yaml (${names.join(', ')})`)
      }
    }
  }
}

/**
 * Each migration leads to this release's version; each key a step creates (add, set-default,
 * rename's `to`) is, after the later steps on the way, a setting of this release, with a valid value.
 */
function checkMigrations({ manifest, schema, migrations }: BundleParts, sink: ReleaseProblem[]): void {
  const version = manifest.version
  if (version === undefined) return
  const defs = migrations.map((m) => m.def)
  for (const { file, def } of migrations) {
    const problems = new FileProblems(file, sink)
    if (compareSemver(def.to, version) > 0) {
      problems.add('to', `${def.to} comes after this release's version ${version}`, `a bundle carries migrations up to its own version: remove it or correct "to"`)
      continue
    }
    let rest: MigrationDef[]
    try {
      rest = migrationPath(defs, def.to, version)
    } catch {
      problems.add('to', `no migration leads from ${def.to} to this release's version ${version}`, `add migrations/${def.to}-to-${version}.yaml (or correct "to")`)
      continue
    }
    if (!schema) continue
    def.steps.forEach((step, index) => {
      if (step.op !== 'add' && step.op !== 'set-default' && step.op !== 'rename') return
      const created = step.op === 'rename' ? step.to : step.key
      const later = [{ ...def, steps: def.steps.slice(index + 1) }, ...rest]
      // A later step moving the key is checked itself.
      if (followKey(created, later) !== created) return
      const setting = schema.settings.get(created)
      if (!setting) {
        const field = `steps[${index}].${step.op === 'rename' ? 'to' : 'key'}`
        problems.add(field, `'${created}' is not a setting of ${manifest.name ?? 'this release'} ${version}: ${unknownMessage('setting', created, schema.settings.keys())}`, 'use a key of schema.yaml, or remove or rename it in a later step')
        return
      }
      if (step.op === 'rename') return
      for (const p of checkSettingValue(setting.def, step.value, created)) problems.add(`steps[${index}].value`, p.message, `give a value of the setting's type (schema.yaml)`)
      const layer = step.layer ?? 'platform'
      if ((layer === 'platform' && setting.def.scope === 'machine') || (layer === 'machines' && setting.def.scope === 'platform')) {
        problems.add(`steps[${index}].layer`, `'${created}' has scope ${setting.def.scope} and cannot be set in the ${layer === 'platform' ? 'platform values' : "nodes' overrides"}`, `write layer: ${layer === 'platform' ? 'machines' : 'platform'}`)
      }
    })
  }
}

/**
 * What a key becomes through later migrations: its final name, null when removed, undefined when a
 * code step that names it may reshape it (a code step that does not name a key is taken to leave it be).
 */
function followKey(key: string, later: readonly MigrationDef[]): string | null | undefined {
  let current = key
  for (const m of later) {
    for (const step of m.steps) {
      if (step.op === 'code' && step.source.includes(current)) return undefined
      if (step.op === 'rename' && step.from === current) current = step.to
      if (step.op === 'remove' && step.key === current) return null
    }
  }
  return current
}
