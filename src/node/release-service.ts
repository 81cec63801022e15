import { isAbsolute } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { type ControlHandler, controlStream } from '../control/server.js'
import { effectiveSettings, type SettingsValues } from '../config/layers.js'
import { checkReleaseSettings, type PlatformRelease, platformRelease } from '../release/platform.js'
import { cryptoRandomBytes } from '../config/random.js'
import { tryRenderService } from '../config/render.js'
import { generateMissingSecrets } from '../config/secrets.js'
import { ExitCode, OperatorError } from '../errors.js'
import { callRpc, handleRpc } from '../mesh/rpc.js'
import { loadRelease, migrateSettings, serviceSpecs, upgradePath, verifyRelease } from '../release/index.js'
import type { ReleaseRecord, SettingsSnapshot } from '../release/types.js'
import type { PullProgress, Runtime } from '../runtime/runtime.js'
import { specHash } from '../runtime/spec.js'
import type { Command } from '../state/commands.js'
import { rollbackSource } from '../state/machine.js'
import { currentRelease, currentReleaseEntry, PLATFORM_SETTINGS_KEY, type PlatformState, type ReleaseHistoryRecord } from '../state/types.js'
import type { NodeContext } from './context.js'
import type { NodeReports, SettingsService } from './settings-service.js'
import { initialPlatformValues } from './settings-local.js'
import { errorReply } from './wire-errors.js'
import type { RolloutPresence } from './rollout-presence.js'

/** Members pull a release's images before it is committed, so that the rollout does not wait on pulls. */
export const RELEASE_PREPULL_PROTOCOL = '/pryv/release-prepull/1.0.0'
const PREPULL_TIMEOUT_MS = 10 * 60_000
const HISTORY_SHOWN = 20

/** What a release change does on one member. */
export interface NodeReleasePlan {
  readonly node: string
  /** Services created, recreated (new image or definition), restarted (new configuration files) or removed. */
  readonly create: readonly string[]
  readonly recreate: readonly string[]
  readonly restart: readonly string[]
  readonly remove: readonly string[]
}

/** A member's progress through the rollout of the release in force. */
export interface NodeRolloutStatus {
  readonly node: string
  readonly state: 'done' | 'pending' | 'failed' | 'unreachable'
  readonly release?: string
  readonly detail?: string
}

/**
 * `release apply|status|rollback` on the node: loads and checks a bundle, migrates the settings,
 * has every member pull the images, then commits the release and the migrated settings in one
 * entry. The rollout itself is the settings service's: each node renders and restarts in its wave.
 */
export class ReleaseService {
  constructor(
    private readonly ctx: NodeContext,
    private readonly settings: SettingsService,
    private readonly runtime: () => Runtime | undefined,
    private readonly submit: (command: Command) => Promise<unknown>,
    /** How the pre-pull treats each member (rollout-presence.ts). */
    private readonly presence: (peerId: string) => RolloutPresence
  ) {}

  async start(): Promise<void> {
    await handleRpc(this.ctx.mesh, RELEASE_PREPULL_PROTOCOL, async (request, remote) => {
      if (!this.ctx.replica.state.members.has(remote.toString())) {
        throw new OperatorError('PRYV_NOT_A_MEMBER', 'only members may ask for pulls', { exitCode: ExitCode.conflict })
      }
      const images = (request as { images?: unknown }).images
      if (!Array.isArray(images) || !images.every((i) => typeof i === 'string')) throw new OperatorError('PRYV_USAGE', 'images must be a list', { exitCode: ExitCode.usage })
      return { node: this.ctx.config.name, pulled: await this.prepull(images as string[]) }
    }, errorReply)
  }

  handlers(): Record<string, ControlHandler> {
    return {
      'release.apply': async (p, signal) => controlStream(this.apply(parseApply(p), signal)),
      'release.pull': async (p, signal) => controlStream(this.pull(parsePath(p), signal)),
      'release.status': async () => this.status(),
      'release.rollback': async (p) => this.rollback(typeof p.message === 'string' ? p.message : undefined)
    }
  }

  /**
   * Loads, checks and migrates a release, then (unless a dry run) has every member pull its images
   * and commits it. Yields pull progress as it comes, then `{ event: 'result', … }`.
   */
  async *apply(request: ApplyRequest, signal: AbortSignal): AsyncGenerator<ReleaseEvent> {
    const { record } = await loadRelease(request.path)
    if (request.keys.length > 0) verifyRelease(record, request.keys)
    const signature = request.keys.length > 0 ? 'verified' : record.signature ? 'not checked (no --key given)' : 'unsigned'
    const state = this.ctx.replica.state
    const current = currentRelease(state)
    const from = current ? { version: current.version, digest: current.digest } : null
    const to = { name: record.name, version: record.version, digest: record.digest }
    if (current?.digest === record.digest) {
      yield { event: 'result', from, to, signature, unchanged: true, nodes: [] }
      return
    }
    if (current && current.name !== record.name) {
      throw new OperatorError('PRYV_RELEASE_OTHER_PRODUCT', `The platform runs ${current.name}; this bundle is ${record.name}.`, {
        hint: 'Apply a release of the same name: a platform cannot change product through an upgrade.',
        exitCode: ExitCode.invalidInput
      })
    }
    const path = current ? upgradePath(record.migrations, current.version, record.version) : []
    const before = replicatedSnapshot(state)
    const migrated = migrateSettings(before, path)
    const next = platformRelease(record)
    const secrets = generateMissingSecrets(next.schema, migrated.snapshot.platform, cryptoRandomBytes)
    const settings: SettingsSnapshot = { platform: secrets.values, machines: migrated.snapshot.machines }
    const problems = checkReleaseSettings(next, settings)
    if (problems.length > 0) {
      throw new OperatorError('PRYV_RELEASE_SETTINGS_INVALID', `The platform's settings, migrated to ${record.version}, do not fit it:\n  ${problems.map((p) => p.message).join('\n  ')}`, {
        hint: 'Set the settings named above first (`pryv-node config set`), or fix the release\'s migrations; nothing was applied.',
        exitCode: ExitCode.invalidInput
      })
    }
    const nodes = this.plan(state, platformRelease(current), next, before, settings)
    const summary = { from, to, signature, migration: migrated.changes.map((c) => c.text), generatedSecrets: secrets.generated, nodes }
    if (request.dryRun) {
      yield { event: 'result', ...summary, dryRun: true }
      return
    }
    const failures = yield* this.pullEverywhere(record, signal)
    if (failures.length > 0) throw pullFailed(failures)
    const committed = await this.submit({
      kind: 'release.apply',
      release: record,
      settings,
      ...(request.message ? { message: request.message } : {}),
      origin: this.ctx.config.name
    }) as { revision: number }
    yield { event: 'result', ...summary, revision: committed.revision }
  }

  /** `release pull`: every member pulls the bundle's images now (before a maintenance window, say). */
  async *pull(path: string, signal: AbortSignal): AsyncGenerator<ReleaseEvent> {
    const { record } = await loadRelease(path)
    const failures = yield* this.pullEverywhere(record, signal)
    if (failures.length > 0) throw pullFailed(failures)
    yield { event: 'result', name: record.name, version: record.version, images: releaseImages(record) }
  }

  /** At init-platform, right after the platform is created: its first release, with the base values and generated secrets. */
  async commitFirst(record: ReleaseRecord, base: SettingsValues): Promise<readonly string[]> {
    const { values, generated } = initialPlatformValues(base, platformRelease(record).schema)
    await this.submit({ kind: 'release.apply', release: record, settings: { platform: values, machines: {} }, message: 'initial release', origin: this.ctx.config.name })
    return generated
  }

  async rollback(message?: string): Promise<unknown> {
    const state = this.ctx.replica.state
    const entry = currentReleaseEntry(state)
    if (!entry) throw new OperatorError('PRYV_RELEASE_NONE', 'The platform has no release to roll back.', { exitCode: ExitCode.conflict })
    const target = rollbackSource(state)?.from
    if (!target) {
      throw new OperatorError('PRYV_RELEASE_NO_PREVIOUS', `Release ${entry.version} was the platform's first: there is nothing to go back to.`, {
        hint: 'Apply another release with `pryv-node release apply`.',
        exitCode: ExitCode.conflict
      })
    }
    const committed = await this.submit({ kind: 'release.rollback', failed: entry.digest, message: message ?? `rollback to ${target.version}`, origin: this.ctx.config.name }) as { revision: number }
    return { revision: committed.revision, from: entry.version, to: target.version }
  }

  /** The release in force, its history, and how far every member's rollout got. */
  async status(): Promise<unknown> {
    const state = this.ctx.replica.state
    const entry = currentReleaseEntry(state)
    const history = [...state.releaseHistory.values()].slice(-HISTORY_SHOWN).map(describeEntry)
    if (!entry) return { revision: state.revision, current: null, history, nodes: [], complete: true }
    const nodes = (await this.settings.allReports()).map((r) => rolloutOf(r, entry))
    return {
      revision: state.revision,
      current: describeEntry(entry),
      history,
      nodes,
      complete: nodes.every((n) => n.state === 'done')
    }
  }

  /**
   * Every member that is not down pulls the images it lacks, in parallel: one that is merely late is
   * asked and waited for like the others, and its failure fails the pull. Yields this node's pull
   * progress (throttled), one event per member when it is done, and one per member skipped as down
   * (it pulls when it starts again); returns the members that failed.
   */
  private async *pullEverywhere(record: ReleaseRecord, signal: AbortSignal): AsyncGenerator<ReleaseEvent, string[]> {
    const images = releaseImages(record)
    if (images.length === 0) return []
    const all = [...this.ctx.replica.state.members.values()]
    const members = all.filter((m) => m.peerId === this.ctx.selfId || this.presence(m.peerId) !== 'down')
    const failures: string[] = []
    const events = new EventQueue<ReleaseEvent>()
    for (const m of all.filter((x) => !members.includes(x))) {
      this.ctx.log.warn({ node: m.name }, 'release pre-pull: member down, skipped (it pulls the images when it starts again)')
      events.push({ event: 'pull-skipped', node: m.name, message: 'down: not heard from for more than 30 s; it pulls the images when it starts again' })
    }
    const work = Promise.all(members.map(async (m) => {
      try {
        let pulled: string[]
        if (m.peerId === this.ctx.selfId) {
          pulled = await this.prepull(images, signal, throttled((p) => events.push({ event: 'pull', node: m.name, ...p })))
        } else {
          const reply = await callRpc(this.ctx.mesh, peerIdFromString(m.peerId), RELEASE_PREPULL_PROTOCOL, { images }, AbortSignal.any([signal, AbortSignal.timeout(PREPULL_TIMEOUT_MS)])) as { pulled?: string[], error?: { message?: string } }
          if (reply.error) throw new Error(reply.error.message ?? 'failed')
          pulled = reply.pulled ?? []
        }
        events.push({ event: 'pulled', node: m.name, pulled })
      } catch (err) {
        failures.push(`${m.name}: ${(err as Error).message}`)
        events.push({ event: 'pull-failed', node: m.name, message: (err as Error).message })
      }
    })).finally(() => events.end())
    yield* events
    await work
    return failures
  }

  /** Pulls the images this node's runtime lacks; returns those pulled. */
  private async prepull(images: readonly string[], signal = AbortSignal.timeout(PREPULL_TIMEOUT_MS), onProgress?: (p: PullProgress) => void): Promise<string[]> {
    const runtime = this.runtime()
    if (!runtime?.capabilities.pull) return []
    const pulled: string[] = []
    for (const image of images) {
      if (await runtime.hasImage(image)) continue
      await runtime.pull(image, { signal, onProgress })
      pulled.push(image)
    }
    return pulled
  }

  /** Per member: which services the change creates, recreates, restarts or removes (local layers of other nodes unknown). */
  private plan(state: PlatformState, old: PlatformRelease, next: PlatformRelease, before: SettingsSnapshot, after: SettingsSnapshot): NodeReleasePlan[] {
    const backend = this.runtime()?.kind ?? 'process'
    const specsOf = (release: PlatformRelease, settings: SettingsSnapshot, node: string): Map<string, string> => {
      if (!release.record) return new Map()
      const values = effectiveSettings(release.schema, { platform: settings.platform, machine: settings.machines[node] }).values
      const specs = serviceSpecs(release.record, { values, backend, serviceDir: (s) => `/services/${s}`, releaseDir: '/release', nodeExecutable: 'node' })
      return new Map(specs.map((s) => [s.name, specHash(s)]))
    }
    const filesOf = (release: PlatformRelease, settings: SettingsSnapshot, node: string): Map<string, string> => {
      const values = effectiveSettings(release.schema, { platform: settings.platform, machine: settings.machines[node] }).values
      return new Map(release.templates.map((t) => [t.service, JSON.stringify(tryRenderService(t, values).files)]))
    }
    return [...state.members.values()].map((m) => m.name).sort().map((node) => {
      const oldSpecs = specsOf(old, before, node)
      const newSpecs = specsOf(next, after, node)
      const oldFiles = filesOf(old, before, node)
      const newFiles = filesOf(next, after, node)
      const create: string[] = []
      const recreate: string[] = []
      const restart: string[] = []
      for (const [service, hash] of newSpecs) {
        if (!oldSpecs.has(service)) create.push(service)
        else if (oldSpecs.get(service) !== hash) recreate.push(service)
        else if (oldFiles.get(service) !== newFiles.get(service)) restart.push(service)
      }
      const remove = [...oldSpecs.keys()].filter((s) => !newSpecs.has(s))
      return { node, create, recreate, restart, remove }
    })
  }
}

export interface ApplyRequest {
  /** Absolute path of the bundle (directory or .tgz) on this machine. */
  readonly path: string
  /** Trusted public keys (PEM text): the bundle must be signed by one of them. */
  readonly keys: readonly string[]
  readonly dryRun: boolean
  readonly message?: string
}

/** What `release apply` and `release pull` stream: pull progress, members done, then the result. */
export type ReleaseEvent =
  | ({ event: 'pull', node: string } & PullProgress)
  | { event: 'pulled', node: string, pulled: string[] }
  | { event: 'pull-failed', node: string, message: string }
  | { event: 'pull-skipped', node: string, message: string }
  | ({ event: 'result' } & Record<string, unknown>)

function releaseImages(record: ReleaseRecord): string[] {
  return [...new Set(record.services.flatMap((s) => (s.image ? [s.image] : [])))]
}

function pullFailed(failures: readonly string[]): OperatorError {
  return new OperatorError('PRYV_RELEASE_PULL_FAILED', `Some members could not pull the release's images; nothing was applied.\n  ${failures.join('\n  ')}`, {
    hint: 'Check the image names and that every member can reach the registry (or load the images on each machine), then apply again.',
    exitCode: ExitCode.unreachable
  })
}

const PROGRESS_EVERY_MS = 250

/** Passes on a layer's status changes at once, and its byte counts at most every 250 ms. */
function throttled(push: (p: PullProgress) => void): (p: PullProgress) => void {
  const last = new Map<string, { status: string, at: number }>()
  return (p) => {
    const key = `${p.image} ${p.layer ?? ''}`
    const seen = last.get(key)
    const now = performance.now()
    if (seen && seen.status === p.status && now - seen.at < PROGRESS_EVERY_MS) return
    last.set(key, { status: p.status, at: now })
    push(p)
  }
}

/** An async queue: producers push, one consumer iterates until `end()`. */
class EventQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = []
  private ended = false
  private wake?: () => void

  push(item: T): void {
    this.items.push(item)
    this.wake?.()
  }

  end(): void {
    this.ended = true
    this.wake?.()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift()
      if (item !== undefined) {
        yield item
        continue
      }
      if (this.ended) return
      await new Promise<void>((resolve) => { this.wake = resolve })
      this.wake = undefined
    }
  }
}

function parsePath(p: Record<string, unknown>): string {
  if (typeof p.path !== 'string' || !isAbsolute(p.path)) throw new OperatorError('PRYV_USAGE', 'Name the bundle by its absolute path.', { exitCode: ExitCode.usage })
  return p.path
}

function parseApply(p: Record<string, unknown>): ApplyRequest {
  parsePath(p)
  const keys = p.keys ?? []
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new OperatorError('PRYV_USAGE', 'keys must be PEM texts.', { exitCode: ExitCode.usage })
  return { path: p.path as string, keys, dryRun: p.dryRun === true, ...(typeof p.message === 'string' ? { message: p.message } : {}) }
}

function replicatedSnapshot(state: PlatformState): SettingsSnapshot {
  const machines: Record<string, Readonly<Record<string, unknown>>> = {}
  for (const m of state.members.values()) machines[m.name] = state.machineSettings.get(m.name) ?? {}
  return { platform: state.platformSettings.get(PLATFORM_SETTINGS_KEY) ?? {}, machines }
}

function describeEntry(e: ReleaseHistoryRecord): Record<string, unknown> {
  return {
    revision: e.revision,
    at: new Date(e.at).toISOString(),
    kind: e.kind,
    name: e.name,
    version: e.version,
    digest: e.digest,
    from: e.from?.version ?? null,
    author: e.author,
    message: e.message,
    automatic: e.automatic === true
  }
}

/** Done: the member rendered this release's revision (or a later one) with every service healthy. */
function rolloutOf(r: NodeReports, entry: ReleaseHistoryRecord): NodeRolloutStatus {
  if (!r.reports) return { node: r.node, state: 'unreachable', detail: r.error }
  const reached = r.reports.filter((x) => x.settingsRevision >= entry.revision)
  const last = reached.at(-1)
  if (!last) return { node: r.node, state: 'pending', release: r.reports.at(-1)?.release?.version }
  if (last.failures.length > 0) {
    return { node: r.node, state: 'failed', release: last.release?.version, detail: last.failures.map((f) => `${f.service ?? ''}: ${f.message}`).join('; ') }
  }
  return { node: r.node, state: 'done', release: last.release?.version }
}
