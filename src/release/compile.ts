import { defineSchema, type Schema, type SchemaDef } from '../config/schema.js'
import type { ServiceTemplates } from '../config/render.js'
import { dnsSettingsGroup } from '../config/schemas/pryv-io.js'
import { certsSettingsGroup } from '../config/schemas/certs.js'
import { backupSettingsGroup, storageSettingsGroup } from '../config/schemas/node-storage.js'
import { dependencyOrder } from './order.js'
import type { ReleaseRecord, ReleaseService } from './types.js'

/** The group of settings the node itself consumes (its DNS server); every platform's schema has it, no bundle may define it. */
export const NODE_SETTINGS_GROUP = 'dns'
/** Every group the node itself consumes, with what in the node reads it: every platform's schema has them, no bundle may define them. */
export const NODE_SETTINGS_GROUPS = {
  [NODE_SETTINGS_GROUP]: { def: dnsSettingsGroup, reader: 'its DNS server' },
  storage: { def: storageSettingsGroup, reader: 'its log compaction' },
  backup: { def: backupSettingsGroup, reader: 'its scheduled backups' },
  certs: { def: certsSettingsGroup, reader: 'its certificate' }
} as const
/** The consumer name of settings the node itself reads (its DNS server), beside the release's services. */
export const NODE_CONSUMER = 'node-dns'
/** The consumer name of settings the node's user registry reads (src/registry), beside the release's services. */
export const NODE_REGISTRY_CONSUMER = 'node-registry'

export interface CompiledRelease {
  /** The release's schema plus the node's own settings group: what a platform's settings are checked against. */
  readonly schema: Schema
  readonly templates: readonly ServiceTemplates[]
  /** In start order: each after the services it depends on. */
  readonly services: readonly ReleaseService[]
}

/** A release's schema definition with the node's settings groups added. */
export function platformSchemaDef(def: SchemaDef): SchemaDef {
  const nodeGroups = Object.fromEntries(Object.entries(NODE_SETTINGS_GROUPS).map(([name, g]) => [name, g.def]))
  return { ...def, groups: { ...def.groups, ...nodeGroups } }
}

const COMPILED_KEPT = 8
const compiled = new Map<string, CompiledRelease>()

/**
 * Compiles a loaded (hence valid) release, once per digest: building a schema is too costly to repeat
 * for every command. Throws SchemaDefinitionError for a record that did not come from loadRelease.
 */
export function compileRelease(record: ReleaseRecord): CompiledRelease {
  const cached = compiled.get(record.digest)
  if (cached) return cached
  const byName = new Map(record.services.map((s) => [s.name, s]))
  const release: CompiledRelease = {
    schema: defineSchema(platformSchemaDef(record.schema)),
    templates: record.templates,
    services: dependencyOrder(record.services).order.map((name) => byName.get(name)!)
  }
  if (compiled.size >= COMPILED_KEPT) compiled.delete(compiled.keys().next().value!)
  compiled.set(record.digest, release)
  return release
}
