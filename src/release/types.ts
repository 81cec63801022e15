import type { SettingsValues } from '../config/layers.js'
import type { ServiceTemplates } from '../config/render.js'
import type { SchemaDef } from '../config/schema.js'
import type { HealthCheck, PortMapping, RestartPolicy } from '../runtime/runtime.js'

/**
 * A release as the platform log carries it: everything a node needs to run the release, in plain
 * JSON, with no reference to the bundle's files. `digest` is the sha256 (hex) of the canonical JSON of
 * every other field except `signature`; two nodes holding the same digest hold the same release.
 */
export interface ReleaseRecord {
  readonly name: string
  readonly version: string
  readonly description?: string
  readonly digest: string
  readonly services: readonly ReleaseService[]
  readonly schema: SchemaDef
  readonly templates: readonly ServiceTemplates[]
  /** Files the services' commands use (process backend), path relative to the release's root → UTF-8 text. */
  readonly files: Readonly<Record<string, string>>
  readonly migrations: readonly MigrationDef[]
  /** Present when the bundle was signed: ed25519 over the digest. */
  readonly signature?: ReleaseSignature
}

export interface ReleaseSignature {
  /** sha256 (hex, first 16 characters) of the raw public key. */
  readonly keyId: string
  /** base64 */
  readonly value: string
}

/** One service of a release. */
export interface ReleaseService {
  readonly name: string
  /** Docker backend: the image, pinned (`repo:tag` or `repo@sha256:…`). */
  readonly image?: string
  /**
   * Process backend (and docker entrypoint override): the command. `{node}` stands for the node's own
   * Node.js executable and `{release}` for the directory where the node writes the release's `files`.
   */
  readonly command?: string
  readonly args?: readonly string[]
  /** Values may use `${group.name}` settings references, rendered per node like templates. */
  readonly env?: Readonly<Record<string, string>>
  readonly ports?: readonly PortMapping[]
  /** Extra host paths (relative to the service's directory) mounted into the container. */
  readonly volumes?: readonly { readonly source: string; readonly target: string; readonly readOnly?: boolean }[]
  readonly health?: HealthCheck
  readonly restart?: RestartPolicy
  readonly stopTimeoutMs?: number
  /** Services started (and healthy) before this one on a node. */
  readonly dependsOn?: readonly string[]
  /** DNS names under the platform domain (e.g. `reg`, `sw`) that resolve to the nodes running this service. */
  readonly dnsNames?: readonly string[]
  /**
   * Where the service reads the platform's certificate (src/certs): paths under its `conf/`, `{domain}`
   * standing for the platform domain. The node writes the chain and key there and restarts the service when they change.
   */
  readonly certificate?: { readonly chain: string; readonly key: string }
  /**
   * What a change of the service's rendered files does on a node: `restart` it (the default), send it
   * `signal` after the files are written, or `none` (it follows its settings through the watch API).
   */
  readonly onChange?: OnChange
  /** With `onChange: signal`: the signal sent (default SIGHUP). */
  readonly signal?: ReloadSignal
}

export type OnChange = 'restart' | 'signal' | 'none'
export const ON_CHANGE: readonly OnChange[] = ['restart', 'signal', 'none']
/** Signals a service may ask for on a change (not the ones that stop it). */
export const RELOAD_SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const
export type ReloadSignal = (typeof RELOAD_SIGNALS)[number]

/**
 * A declarative migration step on settings values (platform values and every machine's overrides).
 * `add` and `set-default` act on the platform values, or with `layer: 'machines'` on every node's
 * overrides; `rename` and `remove` act on every layer (src/release/migrate.ts).
 */
export type MigrationStep =
  | { readonly op: 'add'; readonly key: string; readonly value: unknown; readonly layer?: MigrationLayer }
  | { readonly op: 'rename'; readonly from: string; readonly to: string }
  | { readonly op: 'remove'; readonly key: string }
  /** Sets `key` only where it is absent. */
  | { readonly op: 'set-default'; readonly key: string; readonly value: unknown; readonly layer?: MigrationLayer }
  /**
   * Code step: `source` is the text of a JS function body run in a sandbox (no require, no I/O, bounded
   * time) as `(values, layer) => values`, once per layer (`layer` is `{ kind: 'platform' }` or
   * `{ kind: 'machine', node }`); it returns the new values object.
   */
  | { readonly op: 'code'; readonly description: string; readonly source: string }

/** Which values an `add`/`set-default` step sets: the platform's (default) or every node's overrides. */
export type MigrationLayer = 'platform' | 'machines'

export interface MigrationDef {
  readonly from: string
  readonly to: string
  readonly steps: readonly MigrationStep[]
}

/** Replicated settings, one layer per target (`machines` keyed by node name). */
export interface SettingsSnapshot {
  readonly platform: SettingsValues
  readonly machines: Readonly<Record<string, SettingsValues>>
}
