import { join } from 'node:path'
import { type ChangeTarget, type PlatformSettings, targetValues } from '../config/change.js'
import { diffSettings, restoreValues, type SettingDiff } from '../config/diff.js'
import { SettingsInvalidError } from '../config/errors.js'
import { type EffectiveSettings, effectiveSettings, type Explanation, explain, type SettingsLayers, type SettingsValues } from '../config/layers.js'
import { maskSecrets, SECRET_MASK } from '../config/mask.js'
import { NO_RELEASE_SCHEMA_DEF, type PlatformRelease, platformRelease, replicatedSettings } from '../release/platform.js'
import type { SchemaDef } from '../config/schema.js'
import { platformSchemaDef } from '../release/compile.js'
import { type RenderedFiles, tryRenderService } from '../config/render.js'
import { unknownMessage } from '../config/suggest.js'
import { validateChange } from '../config/validate.js'
import { deepEqual } from '../config/values.js'
import { plannedChanges, servicesToRestart, type WritePlan, writeRenderedFiles } from '../config/write.js'
import { peerIdFromString } from '@libp2p/peer-id'
import { ExitCode, OperatorError } from '../errors.js'
import { callRpc, handleRpc } from '../mesh/rpc.js'
import { detectRuntime } from '../runtime/detect.js'
import type { Runtime } from '../runtime/runtime.js'
import type { Command } from '../state/commands.js'
import type { OnChange } from '../release/types.js'
import { restartWaves } from '../release/waves.js'
import { currentRelease, currentReleaseEntry, PLATFORM_SETTINGS_KEY, type PlatformState, type ReleaseHistoryRecord, type SettingsHistoryRecord, settingsHistoryKey } from '../state/types.js'
import type { NodeContext } from './context.js'
import { checkLocalLayers, type LocalLayers, localLayers, type LocalSettings } from './settings-local.js'
import { type RunOutcome, ServiceRunner } from './service-runner.js'
import { errorReply } from './wire-errors.js'
import type { RolloutPresence } from './rollout-presence.js'
import { certificateFiles, certificatePaths } from '../certs/install.js'
import { certificateOf } from '../state/certs.js'
import type { ServiceTemplates } from '../config/render.js'
import type { EffectiveUpdate } from '../watch/service.js'
import { compareText } from '../text-order.js'

/** What one render of this node's services did; shown in `status` (field `settings`). */
export interface RenderReport {
  /** State revision rendered. */
  readonly revision: number
  /** Revision of the last settings change or release change included. */
  readonly settingsRevision: number
  /** The release rendered, when the platform has a replicated one. */
  readonly release?: { readonly version: string; readonly digest: string }
  readonly at: string
  readonly durationMs: number
  /** `service/path` of files written and removed. */
  readonly written: readonly string[]
  readonly removed: readonly string[]
  /** Services whose files changed: they must restart. */
  readonly restart: readonly string[]
  /** Services whose files changed and that the release says to signal instead (`onChange: signal`). */
  readonly signalled?: readonly string[]
  /** Services the runtime restarted (empty when services are not run: `--services none`). */
  readonly restarted: readonly string[]
  /** Services the runtime started (the first render after the node starts). */
  readonly started: readonly string[]
  /** Services that had drifted from the release (exited on their own) and were started again. */
  readonly drifted?: readonly string[]
  readonly services: LocalSettings['services']
  readonly failures: readonly { readonly service?: string; readonly code: string; readonly message: string }[]
}

/** Per node: which files a change would rewrite and which services it would restart (`--dry-run`). */
export interface NodePlan {
  readonly node: string
  readonly files: readonly string[]
  readonly restart: readonly string[]
  readonly problems: readonly string[]
}

export interface ChangeRequest {
  /** Node name or peer id; absent = the platform values. */
  readonly machine?: string
  readonly set?: Readonly<Record<string, unknown>>
  readonly unset?: readonly string[]
  /** `text`: values from the command line, coerced to each setting's type. */
  readonly input?: 'text' | 'typed'
  readonly message?: string
  readonly dryRun?: boolean
}

/** Commands after which this node renders again: they change settings, the release or the members. */
const RENDERED_ON = new Set(['settings.change', 'member.join', 'member.remove', 'platform.create', 'release.apply', 'release.rollback', 'certs.done', 'certs.import'])
const RENDER_REPORTS_KEPT = 50
const DRIFT_CHECK_MS = 15_000
/** How often the node looks at its services' health, which its heartbeats announce. */
const HEALTH_CHECK_MS = 1000
const STOP_TIMEOUT_MS = 2000
/** Members answer with their recent render reports, for `config history` on any node. */
export const SETTINGS_REPORTS_PROTOCOL = '/pryv/settings-reports/1.0.0'
/** Members that restart the same service at once, by default. */
const DEFAULT_RESTART_BUDGET = 1
/** While a wave waits for earlier members, it says so in the log this often. */
const WAVE_WARN_MS = 30_000
const WAVE_POLL_MS = 100
const RESTART_JITTER_MS = 200
const REPORTS_TIMEOUT_MS = 2000

/** One node's render results as `config history` shows them. */
export interface NodeReports {
  readonly node: string
  readonly reports?: readonly RenderReport[]
  /** Why the node did not answer. */
  readonly error?: string
}

/**
 * Renders the release's templates for this node on start and whenever the replicated settings or
 * the membership change, writes them into `<data-dir>/services/<service>/`, and restarts only the
 * services whose files changed. Also answers the `config` commands of the control socket.
 */
export class SettingsService {
  private runtime?: Runtime
  private localCache?: { readonly key: string; readonly layers: LocalLayers }
  private unhealthy: readonly string[] = []
  private driftTimer?: NodeJS.Timeout
  private healthTimer?: NodeJS.Timeout
  /** The last release whose services all became healthy here: a later failure under it is not its rollout's. */
  private healthyDigest?: string
  private readonly reports: RenderReport[] = []
  private dirty = false
  private loop?: Promise<void>
  private stopped = false
  /** Told each service's effective settings on every render, before files are written (the watch API). */
  private watcher?: (update: EffectiveUpdate) => Promise<void>
  private readonly onApplied = (_entry: unknown, command: { kind: string }): void => {
    if (!RENDERED_ON.has(command.kind)) return
    // Watchers get every revision's settings, even those a busy render loop skips over.
    this.publishSettings()
    this.schedule()
  }

  constructor(
    private readonly ctx: NodeContext,
    private readonly dataDir: string,
    private readonly local: LocalSettings,
    private readonly submit: (command: Command) => Promise<unknown>,
    /** How the restart waves treat a member (rollout-presence.ts): they wait for one up or late, not for one down. */
    private readonly presence: (peerId: string) => RolloutPresence
  ) {}

  async start(): Promise<void> {
    const state = this.ctx.replica.state
    // A node restarted with a bad --set or environment fails now, before it runs anything.
    if (currentRelease(state)) {
      const release = this.release(state)
      this.localCache = { key: release.record!.digest, layers: checkLocalLayers(this.local, release.schema) }
    }
    if (this.local.services !== 'none') {
      this.runtime = await detectRuntime({
        runtime: this.local.services,
        socketPath: this.local.dockerSocket,
        platformId: this.ctx.config.platformId,
        nodeId: this.ctx.config.name,
        dataDir: this.dataDir,
        baseEnv: { PATH: process.env.PATH ?? '' }
      })
      this.ctx.log.info({ runtime: this.runtime.kind }, 'services run through the runtime')
    }
    this.ctx.replica.on('applied', this.onApplied)
    this.ctx.replica.on('installed', () => {
      this.publishSettings()
      this.schedule()
    })
    await handleRpc(this.ctx.mesh, SETTINGS_REPORTS_PROTOCOL, async (_request, remote) => {
      if (!this.ctx.replica.state.members.has(remote.toString())) {
        throw new OperatorError('PRYV_NOT_A_MEMBER', 'only members may read render reports', { exitCode: ExitCode.conflict })
      }
      return { node: this.ctx.config.name, reports: this.reports }
    }, errorReply)
    this.schedule()
    // The reconcile loop: services that exited on their own, or were removed behind the node's back, come back.
    if (this.runtime) {
      this.driftTimer = setInterval(() => this.schedule(), DRIFT_CHECK_MS)
      this.driftTimer.unref()
      this.healthTimer = setInterval(() => void this.checkHealth(), HEALTH_CHECK_MS)
      this.healthTimer.unref()
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.driftTimer)
    clearInterval(this.healthTimer)
    this.ctx.replica.off('applied', this.onApplied)
    await this.loop
    await this.runtime?.close({ timeoutMs: STOP_TIMEOUT_MS })
  }

  /** The watch API follows every render's effective settings. */
  watchSettings(watcher: (update: EffectiveUpdate) => Promise<void>): void {
    this.watcher = watcher
  }

  /** Tells the watch API the settings of the revision just applied. */
  private publishSettings(): void {
    const state = this.ctx.replica.state
    if (!this.watcher || (state.settingsHistory.size === 0 && state.releaseHistory.size === 0)) return
    const release = this.release(state)
    const values = this.effective(state, this.ctx.config.name, true).values
    this.watcher({ settingsRevision: lastConfigRevision(state), revision: state.revision, schema: release.schema, values, services: releaseServices(release) })
      .catch((err: Error) => this.ctx.log.warn({ err: err.message }, 'the watch API cannot serve the new settings'))
  }

  /** This node's services that are not healthy, as of the last check (every render, and every few seconds). */
  unhealthyServices(): readonly string[] {
    return this.unhealthy
  }

  private async checkHealth(): Promise<void> {
    if (!this.runtime) return
    try {
      const services = await this.runtime.list()
      this.unhealthy = services.filter((s) => s.health === 'unhealthy' || s.state !== 'running').map((s) => s.name).sort()
    } catch (err) {
      this.ctx.log.debug({ err: (err as Error).message }, 'cannot list the services')
    }
  }

  /** The runtime that runs this node's services; undefined with `--services none`. */
  runtimeInstance(): Runtime | undefined {
    return this.runtime
  }

  /** The last render's report, for `status`; null before the platform has settings. */
  status(): RenderReport | null {
    return this.reports.at(-1) ?? null
  }

  // ----- rendering ---------------------------------------------------------------------------

  private schedule(): void {
    this.dirty = true
    this.loop ??= this.drain()
  }

  private async drain(): Promise<void> {
    await Promise.resolve()
    try {
      while (this.dirty && !this.stopped) {
        this.dirty = false
        try {
          await this.render()
        } catch (err) {
          this.ctx.log.error({ err: (err as Error).message }, 'rendering the service configuration failed')
        }
      }
    } finally {
      this.loop = undefined
    }
  }

  private async render(): Promise<void> {
    const state = this.ctx.replica.state
    // Until the platform's first settings or release are applied (founding, joining), there is nothing to render.
    if (state.settingsHistory.size === 0 && state.releaseHistory.size === 0) return
    const startedMs = performance.now()
    // Read synchronously, before any await: the replica keeps applying entries while files are written.
    const revision = state.revision
    const settingsRevision = lastConfigRevision(state)
    const release = this.release(state)
    const { templates } = release
    const effective = this.effective(state, this.ctx.config.name, true)
    const failures: Array<RenderReport['failures'][number]> = []
    try {
      // The watch sockets of new services exist before the services start.
      await this.watcher?.({ settingsRevision, revision, schema: release.schema, values: effective.values, services: releaseServices(release) })
    } catch (err) {
      failures.push({ code: (err as OperatorError).code ?? 'PRYV_WATCH_FAILED', message: `the watch API cannot serve the new settings: ${(err as Error).message}` })
    }
    const results: Record<string, WritePlan> = {}
    const written: string[] = []
    const removed: string[] = []
    const certFiles = this.certificateFiles(state, release)
    for (const t of withCertificateServices(templates, certFiles)) {
      const outcome = tryRenderService(t, effective.values)
      if (outcome.problems.length > 0) {
        for (const p of outcome.problems) failures.push({ service: t.service, code: p.code, message: p.message })
        continue
      }
      try {
        const keys = certificatePaths(release.services ?? [], this.ctx.config.domain).filter((c) => c.service === t.service).map((c) => c.key)
        const result = await writeRenderedFiles(this.serviceDir(t.service), { ...outcome.files, ...certFiles[t.service] }, undefined, { ownerOnly: keys })
        results[t.service] = result
        written.push(...result.write.map((f) => `${t.service}/${f}`))
        removed.push(...result.remove.map((f) => `${t.service}/${f}`))
      } catch (err) {
        failures.push({ service: t.service, code: (err as OperatorError).code ?? 'PRYV_CONFIG_WRITE_FAILED', message: (err as Error).message })
      }
    }
    const changed = servicesToRestart(results)
    const restart = changed.filter((s) => onChangeOf(release, s) === 'restart')
    const signalled = changed.filter((s) => onChangeOf(release, s) === 'signal')
    let restarted: readonly string[] = []
    let started: readonly string[] = []
    let drifted: readonly string[] = []
    if (this.runtime && release.record) {
      const outcome = await this.runReleaseServices(release, effective.values, restart, settingsRevision)
      if (!outcome) {
        // A newer settings revision or release arrived while this one waited for its wave.
        this.dirty = true
        return
      }
      started = outcome.started
      restarted = outcome.restarted
      drifted = outcome.drifted
      failures.push(...outcome.failures)
      failures.push(...(await this.signalServices(release, signalled)))
    }
    const report: RenderReport = {
      revision,
      settingsRevision,
      ...(release.record ? { release: { version: release.record.version, digest: release.record.digest } } : {}),
      at: new Date(this.ctx.now()).toISOString(),
      durationMs: Math.round(performance.now() - startedMs),
      written,
      removed,
      restart,
      ...(signalled.length > 0 ? { signalled } : {}),
      restarted,
      started,
      ...(drifted.length > 0 ? { drifted } : {}),
      services: this.local.services,
      failures
    }
    // The periodic check for drift adds a report only when it found something.
    const previous = this.reports.at(-1)
    const idle = written.length + removed.length + started.length + restarted.length + drifted.length + failures.length === 0
    if (idle && previous && previous.settingsRevision === settingsRevision && previous.failures.length === 0) return
    // A failed render stays under the latest revision: the waves hold back on it.
    const { cause, unchanged } = failures.length === 0 ? this.attribute(state, settingsRevision) : { cause: settingsRevision, unchanged: [] }
    const idleReport = (r: number): RenderReport => ({ ...report, settingsRevision: r, written: [], removed: [], restart: [], restarted: [], started: [], signalled: undefined, drifted: undefined })
    this.reports.push(...[{ ...report, settingsRevision: cause }, ...unchanged.map(idleReport)].sort((a, b) => a.settingsRevision - b.settingsRevision))
    while (this.reports.length > RENDER_REPORTS_KEPT) this.reports.shift()
    if (written.length > 0 || removed.length > 0 || failures.length > 0) {
      const level = failures.length > 0 ? 'warn' : 'info'
      this.ctx.log[level]({ revision, written: written.length, removed: removed.length, restart, restarted, failures: failures.map((f) => f.message) }, 'service configuration rendered')
    }
  }

  /**
   * Brings the release's services to what the settings ask, in this node's wave. A health gate that
   * fails while a new release rolls out asks the platform to roll back to the release before it.
   */
  private async runReleaseServices(release: PlatformRelease, values: SettingsValues, restart: readonly string[], settingsRevision: number): Promise<RunOutcome | undefined> {
    const record = release.record!
    const runner = new ServiceRunner(this.runtime!, this.dataDir, this.ctx.log)
    let outcome: RunOutcome | undefined
    try {
      outcome = await runner.run(release, values, new Set(restart), () => this.waitForTurn(settingsRevision, () => this.stillCurrent(settingsRevision, record.digest, values)))
    } catch (err) {
      outcome = { started: [], restarted: [], removed: [], drifted: [], failures: [{ service: '*', code: (err as OperatorError).code ?? 'PRYV_SERVICE_FAILED', message: (err as Error).message }] }
    }
    if (!outcome) return undefined
    if (outcome.failures.length === 0) this.healthyDigest = record.digest
    else if (this.healthyDigest !== record.digest) await this.rollBackFailedRollout(record.digest, outcome.failures)
    return outcome
  }

  /** `onChange: signal`: the files are written, the service reloads them on its signal. */
  private async signalServices(release: PlatformRelease, services: readonly string[]): Promise<RenderReport['failures'][number][]> {
    const failures: RenderReport['failures'][number][] = []
    for (const service of services) {
      const signal = release.record?.services.find((s) => s.name === service)?.signal ?? 'SIGHUP'
      try {
        await this.runtime!.signal(service, signal)
        this.ctx.log.info({ service, signal }, 'service signalled to reload its configuration')
      } catch (err) {
        failures.push({ service, code: (err as OperatorError).code ?? 'PRYV_SERVICE_FAILED', message: `cannot send ${signal}: ${(err as Error).message}` })
      }
    }
    return failures
  }

  /** Asks for the automatic rollback; refused (and harmless) when another node asked first. */
  private async rollBackFailedRollout(digest: string, failures: RunOutcome['failures']): Promise<void> {
    const entry = currentReleaseEntry(this.ctx.replica.state)
    if (entry?.kind !== 'apply' || entry.digest !== digest || !entry.from) return
    const first = failures[0]!
    const message = `health gate failed on ${this.ctx.config.name}: ${first.service}: ${first.message}`
    this.ctx.log.error({ release: entry.version, failures: failures.map((f) => `${f.service}: ${f.message}`) }, `release ${entry.version} failed its health gate here: rolling the platform back to ${entry.from.version}`)
    try {
      await this.submit({ kind: 'release.rollback', failed: digest, automatic: true, message: message.slice(0, 1000), origin: this.ctx.config.name })
    } catch (err) {
      this.ctx.log.info({ err: (err as Error).message }, 'the automatic rollback was not needed')
    }
  }

  /**
   * Rolling restarts: one canary member first (the first by name), then the others in waves of
   * `restartBudget`, so that a change never takes a service down on every node at once. A wave
   * starts once every member of the waves before it reports this revision rendered and its services
   * healthy. A member whose heartbeats are late is waited for, however long (the log says so every
   * WAVE_WARN_MS); only one down (silent for ROLLOUT_DOWN_AFTER_MS) is gone without, with a warning.
   * A little jitter spreads the members of one wave. Returns false when a newer revision superseded
   * this one while waiting (`stillCurrent`: the caller renders again).
   */
  private async waitForTurn(settingsRevision: number, stillCurrent: () => boolean): Promise<boolean> {
    const waves = restartWaves([...this.ctx.replica.state.members.values()], this.local.restartBudget ?? DEFAULT_RESTART_BUDGET, (m) => m.name)
    const mine = waves.findIndex((wave) => wave.some((m) => m.peerId === this.ctx.selfId))
    const earlier = mine <= 0 ? [] : waves.slice(0, mine).flat()
    let warnAt = Date.now() + WAVE_WARN_MS
    let pending = earlier
    while (pending.length > 0 && !this.stopped) {
      if (!stillCurrent()) return false
      const done = await Promise.all(pending.map(async (m) => {
        if (this.presence(m.peerId) !== 'down') return this.reportedAtLeast(m.peerId, settingsRevision)
        this.ctx.log.warn({ node: m.name, settingsRevision }, 'restart wave: an earlier member is down (silent for more than 30 s): going on without it; it renders when it starts again')
        return true
      }))
      pending = pending.filter((_, i) => !done[i])
      if (pending.length > 0 && Date.now() >= warnAt) {
        this.ctx.log.warn({ waitingFor: pending.map((m) => m.name), settingsRevision }, 'restart wave: still waiting for earlier members to report this revision healthy')
        warnAt = Date.now() + WAVE_WARN_MS
      }
      if (pending.length > 0) await sleep(WAVE_POLL_MS)
    }
    if (earlier.length > 0) await sleep(Math.random() * RESTART_JITTER_MS)
    return stillCurrent()
  }

  /**
   * Whether what this node renders for `settingsRevision` is still what it would render now. A later
   * change that leaves this node's release and effective settings as they were (another node's
   * override, say) does not supersede it: the node goes on with its wave.
   */
  private stillCurrent(settingsRevision: number, digest: string, values: SettingsValues): boolean {
    const state = this.ctx.replica.state
    if (lastConfigRevision(state) === settingsRevision) return true
    return this.release(state).record?.digest === digest && deepEqual(this.effective(state, this.ctx.config.name, true).values, values)
  }

  /**
   * A render can cover several settings revisions at once (entries that arrived together, or a wave
   * a later change superseded). Those that left this node's effective settings as they were (another
   * node's override, say) get reports of their own saying so, and the render's report goes under the
   * last one that changed them: `config history` shows each revision's effect on each node. Not
   * split across a release change (its schema differs).
   */
  private attribute(state: PlatformState, settingsRevision: number): { cause: number, unchanged: number[] } {
    const since = this.reports.at(-1)?.settingsRevision ?? 0
    const covered = [...state.settingsHistory.values()].map((r) => r.revision).filter((r) => r > since && r <= settingsRevision).sort((a, b) => a - b)
    if (covered.length < 2 || (currentReleaseEntry(state)?.revision ?? 0) > since) return { cause: settingsRevision, unchanged: [] }
    const { schema } = this.release(state)
    const name = this.ctx.config.name
    const valuesAt = (revision: number) => effectiveSettings(schema, {
      platform: layerAt(state, { kind: 'platform' }, revision),
      machine: layerAt(state, { kind: 'machine', nodeId: name }, revision),
      ...this.localValues()
    }).values
    let before = valuesAt(since)
    const changing: number[] = []
    const unchanged: number[] = []
    for (const revision of covered) {
      const after = valuesAt(revision)
      ;(deepEqual(before, after) ? unchanged : changing).push(revision)
      before = after
    }
    const cause = changing.at(-1) ?? settingsRevision
    return { cause, unchanged: unchanged.filter((r) => r !== cause) }
  }

  private async reportedAtLeast(peerId: string, settingsRevision: number): Promise<boolean> {
    try {
      const reply = await callRpc(this.ctx.mesh, peerIdFromString(peerId), SETTINGS_REPORTS_PROTOCOL, {}, AbortSignal.timeout(REPORTS_TIMEOUT_MS)) as { reports?: RenderReport[] }
      // A member that failed at this revision holds the waves back: its rollback is on the way.
      return (reply.reports ?? []).some((r) => r.settingsRevision > settingsRevision || (r.settingsRevision === settingsRevision && r.failures.length === 0))
    } catch {
      return false
    }
  }

  /** The platform's certificate (src/certs), for the services of the release that read it. */
  private certificateFiles(state: PlatformState, release: PlatformRelease): Record<string, RenderedFiles> {
    return certificateFiles(release.services ?? [], certificateOf(state), this.ctx.config.domain)
  }

  private serviceDir(service: string): string {
    return join(this.dataDir, 'services', service)
  }

  /** The environment and --set parsed with the release in force; re-parsed when the release changes. */
  private localValues(): Pick<LocalLayers, 'env' | 'cli'> {
    const release = this.release(this.ctx.replica.state)
    const key = release.record?.digest ?? 'built-in'
    if (this.localCache?.key !== key) {
      const layers = localLayers(this.local, release.schema)
      for (const p of layers.problems) this.ctx.log.error({ setting: p.key }, `local setting ignored: ${p.message}`)
      this.localCache = { key, layers }
    }
    return this.localCache.layers
  }

  /** This node's effective settings values (platform, its overrides, env, --set), for what the node itself reads. */
  effectiveValues(): SettingsValues {
    return this.effective(this.ctx.replica.state, this.ctx.config.name, true).values
  }

  /** The release in force: the replicated one, or the built-in demo. */
  private release(state: PlatformState): PlatformRelease {
    return platformRelease(currentRelease(state))
  }

  /** A node's effective settings; the local layers (env, --set) are known only for this node. */
  private effective(state: PlatformState, node: string, withLocal: boolean, settings = this.replicated(state)): EffectiveSettings {
    return effectiveSettings(this.release(state).schema, this.layers(settings, node, withLocal))
  }

  private layers(settings: PlatformSettings, node: string, withLocal: boolean): SettingsLayers {
    return {
      platform: settings.platform,
      machine: settings.machines[node],
      ...(withLocal ? this.localValues() : {})
    }
  }

  private replicated(state: PlatformState): PlatformSettings {
    return replicatedSettings(state.platformSettings.get(PLATFORM_SETTINGS_KEY), state.machineSettings, memberNames(state))
  }

  // ----- the config commands -----------------------------------------------------------------

  /** `config schema`, `config import`: the schema definition of the release in force, with the node's own settings. */
  schemaDef(): SchemaDef {
    const record = currentRelease(this.ctx.replica.state)
    return record ? platformSchemaDef(record.schema) : NO_RELEASE_SCHEMA_DEF
  }

  /**
   * `config get`: a layer's values (the platform's, or one node's overrides), a node's effective
   * settings, or one key explained layer by layer. Secrets masked unless `reveal`.
   */
  get(p: { key?: string; machine?: string; effective?: boolean; explain?: boolean; reveal?: boolean }): unknown {
    const state = this.ctx.replica.state
    const { schema } = this.release(state)
    if (p.key !== undefined) this.checkKey(p.key)
    const settings = this.replicated(state)
    if (p.explain) {
      if (p.key === undefined) throw new OperatorError('PRYV_USAGE', '--explain needs a KEY.', { exitCode: ExitCode.usage })
      const node = p.machine === undefined ? this.ctx.config.name : this.resolveNode(p.machine)
      const explanation: Explanation = explain(schema, p.key, this.layers(settings, node, node === this.ctx.config.name), { reveal: p.reveal === true })
      return { revision: state.revision, node, local: node === this.ctx.config.name, explanation }
    }
    const pick = (values: SettingsValues): Record<string, unknown> => {
      const shown = p.reveal ? { ...values } : maskSecrets(schema, values)
      return p.key === undefined ? shown : Object.hasOwn(shown, p.key) ? { [p.key]: shown[p.key] } : {}
    }
    if (p.effective) {
      const node = p.machine === undefined ? this.ctx.config.name : this.resolveNode(p.machine)
      const local = node === this.ctx.config.name
      const eff = this.effective(state, node, local, settings)
      const values = pick(eff.values)
      const sources = Object.fromEntries(Object.keys(values).map((k) => [k, eff.sources[k]]))
      return { revision: state.revision, layer: 'effective', node, local, values, sources, missing: eff.missing }
    }
    if (p.machine !== undefined) {
      const node = this.resolveNode(p.machine)
      return { revision: state.revision, layer: 'machine', node, values: pick(settings.machines[node] ?? {}) }
    }
    return { revision: state.revision, layer: 'platform', values: pick(settings.platform) }
  }

  /**
   * `config set/unset/import`: validates against every node (all problems at once), then commits
   * through the writer, or with `dryRun` only says what each node would rewrite and restart.
   */
  async change(request: ChangeRequest, internal = false): Promise<unknown> {
    const state = this.ctx.replica.state
    const { schema, templates } = this.release(state)
    const target: ChangeTarget = request.machine === undefined ? { kind: 'platform' } : { kind: 'machine', nodeId: this.resolveNode(request.machine) }
    const current = this.replicated(state)
    const checked = validateChange(schema, current, { target, set: request.set, unset: request.unset, input: request.input ?? 'typed' }, { templates })
    if (!checked.ok) throw new SettingsInvalidError(checked.problems)
    const base = { target: describeTarget(target), diff: checked.diff }
    if (checked.diff.length === 0 && !internal) return { ...base, revision: state.revision, unchanged: true, nodes: [] }
    const nodes = await this.plan(current, checked.next)
    if (request.dryRun) return { ...base, revision: state.revision, dryRun: true, nodes }
    const committed = (await this.submit({
      kind: 'settings.change',
      target,
      ...(checked.change.set && Object.keys(checked.change.set).length > 0 ? { set: { ...checked.change.set } } : {}),
      ...(checked.change.unset ? { unset: [...checked.change.unset] } : {}),
      ...(request.message ? { message: request.message } : {}),
      origin: this.ctx.config.name
    })) as { revision: number }
    return { ...base, revision: committed.revision, nodes }
  }

  /** `config rollback REV`: a new change bringing the platform values (or one node's overrides) back to what they were at REV. */
  async rollback(p: { revision: number; machine?: string; message?: string; dryRun?: boolean }): Promise<unknown> {
    const state = this.ctx.replica.state
    const revision = this.checkRevision(p.revision)
    const target: ChangeTarget = p.machine === undefined ? { kind: 'platform' } : { kind: 'machine', nodeId: this.resolveNode(p.machine) }
    const then = layerAt(state, target, revision)
    const { set, unset } = restoreValues(targetValues(this.replicated(state), target), then)
    return this.change({
      ...(p.machine !== undefined ? { machine: p.machine } : {}),
      set,
      unset,
      input: 'typed',
      message: p.message ?? `rollback to revision ${revision}`,
      dryRun: p.dryRun
    })
  }

  /** `config history`: every settings change, newest last, with every reachable member's render results. */
  /** `reports: false` leaves out every node's render reports (asked over the mesh): the admin app's settings page. */
  async history(p: { reports?: boolean } = {}): Promise<unknown> {
    const state = this.ctx.replica.state
    const nodes = p.reports === false ? [] : await this.allReports()
    const changes = [...state.settingsHistory.values()].map((r) => ({
      revision: r.revision,
      at: new Date(r.at).toISOString(),
      author: r.author,
      // Who made it through the admin API (admin:<name>, token:<id>), or `local` (the CLI on that node).
      actor: state.audit.get(settingsHistoryKey(r.revision))?.actor ?? 'local',
      target: describeTarget(r.target),
      message: r.message,
      diff: r.diff
    }))
    // Applying or rolling back a release replaces every layer: it is a settings change too.
    const releases = [...state.releaseHistory.values()].map((r) => ({
      revision: r.revision,
      at: new Date(r.at).toISOString(),
      author: r.author,
      actor: state.audit.get(settingsHistoryKey(r.revision))?.actor ?? 'local',
      target: 'platform (release)',
      message: `${r.kind === 'apply' ? 'release' : 'rollback to'} ${r.name} ${r.version}${r.message ? `: ${r.message}` : ''}`,
      diff: releaseDiff(state, r)
    }))
    const records = [...changes, ...releases].sort((a, b) => a.revision - b.revision)
    return { revision: state.revision, node: this.ctx.config.name, records, nodes }
  }

  /** This node's reports and, asked in parallel, every other member's (those that do not answer say why). */
  async allReports(): Promise<NodeReports[]> {
    const members = [...this.ctx.replica.state.members.values()].sort((a, b) => compareText(a.name, b.name))
    return Promise.all(members.map(async (m): Promise<NodeReports> => {
      if (m.peerId === this.ctx.selfId) return { node: m.name, reports: this.reports }
      try {
        const reply = await callRpc(this.ctx.mesh, peerIdFromString(m.peerId), SETTINGS_REPORTS_PROTOCOL, {}, AbortSignal.timeout(REPORTS_TIMEOUT_MS)) as { reports?: RenderReport[], error?: { message?: string } }
        return reply.reports ? { node: m.name, reports: reply.reports } : { node: m.name, error: reply.error?.message ?? 'no reports' }
      } catch (err) {
        return { node: m.name, error: (err as Error).message }
      }
    }))
  }

  /** `config diff [FROM] [TO]`: a layer's values between two revisions (default: the last change of that layer). */
  diff(p: { from?: number; to?: number; machine?: string }): unknown {
    const state = this.ctx.replica.state
    const target: ChangeTarget = p.machine === undefined ? { kind: 'platform' } : { kind: 'machine', nodeId: this.resolveNode(p.machine) }
    let from: number
    let to: number
    if (p.from === undefined) {
      const last = [...state.settingsHistory.values()].findLast((r) => sameTarget(r.target, target))
      if (!last) return { target: describeTarget(target), from: 0, to: 0, diff: [] }
      from = last.revision - 1
      to = last.revision
    } else {
      from = this.checkRevision(p.from)
      to = p.to === undefined ? state.revision : this.checkRevision(p.to)
    }
    const { schema } = this.release(state)
    const diff: SettingDiff[] = diffSettings(schema, layerAt(state, target, from), layerAt(state, target, to))
    return { target: describeTarget(target), from, to, diff }
  }

  // ----- helpers -----------------------------------------------------------------------------

  /** Which files and services a change from `current` to `next` touches on every member. */
  private async plan(current: PlatformSettings, next: PlatformSettings): Promise<NodePlan[]> {
    const release = this.release(this.ctx.replica.state)
    const { schema, templates } = release
    const certFiles = this.certificateFiles(this.ctx.replica.state, release)
    const plans: NodePlan[] = []
    for (const node of Object.keys(next.machines).sort()) {
      const self = node === this.ctx.config.name
      const before = effectiveSettings(schema, this.layers(current, node, self)).values
      const after = effectiveSettings(schema, this.layers(next, node, self)).values
      const files: string[] = []
      const restart: string[] = []
      const problems: string[] = []
      for (const t of templates) {
        const rendered = tryRenderService(t, after)
        if (rendered.problems.length > 0) {
          problems.push(...rendered.problems.map((x) => x.message))
          continue
        }
        const changed = self
          ? await this.localPlan(t.service, { ...rendered.files, ...certFiles[t.service] })
          : changedFiles(tryRenderService(t, before).files, rendered.files)
        if (changed.length > 0 && onChangeOf(release, t.service) === 'restart') restart.push(t.service)
        files.push(...changed.map((f) => `${t.service}/${f}`))
      }
      plans.push({ node, files, restart, problems })
    }
    return plans
  }

  /** On this node, against the files actually on disk. */
  private async localPlan(service: string, files: RenderedFiles): Promise<string[]> {
    const plan = await plannedChanges(this.serviceDir(service), files)
    return [...plan.write, ...plan.remove].sort()
  }

  private checkKey(key: string): void {
    const { schema } = this.release(this.ctx.replica.state)
    if (!schema.settings.has(key)) {
      throw new SettingsInvalidError([{ code: 'PRYV_SETTING_UNKNOWN', key, message: unknownMessage('setting', key, schema.settings.keys()), hint: 'run `pryv-node config schema` to list every setting' }])
    }
  }

  private checkRevision(revision: number): number {
    const head = this.ctx.replica.state.revision
    if (!Number.isSafeInteger(revision) || revision < 0 || revision > head) {
      throw new OperatorError('PRYV_REVISION_UNKNOWN', `Revision ${revision} does not exist (the platform is at revision ${head}).`, {
        hint: 'List the settings revisions with `pryv-node config history`.',
        exitCode: ExitCode.invalidInput
      })
    }
    return revision
  }

  /** A node name or peer id → the member's name. */
  private resolveNode(nameOrId: string): string {
    for (const m of this.ctx.replica.state.members.values()) {
      if (m.name === nameOrId || m.peerId === nameOrId) return m.name
    }
    const names = memberNames(this.ctx.replica.state)
    throw new OperatorError('PRYV_NODE_UNKNOWN', `${unknownMessage('node', nameOrId, names)}.`, {
      hint: `Name a member of the platform: ${names.join(', ')}.`,
      exitCode: ExitCode.invalidInput
    })
  }
}

/** The services of a release: those it runs and those it renders files for. */
function releaseServices(release: PlatformRelease): string[] {
  return [...new Set([...release.templates.map((t) => t.service), ...(release.record?.services ?? []).map((s) => s.name)])].sort()
}

/** What a change of the service's files does, as its release says (restart by default). */
function onChangeOf(release: PlatformRelease, service: string): OnChange {
  return release.record?.services.find((s) => s.name === service)?.onChange ?? 'restart'
}

function memberNames(state: PlatformState): string[] {
  return [...state.members.values()].map((m) => m.name).sort()
}

/** The last revision that changed settings or the release: what a render report and the waves refer to. */
function lastConfigRevision(state: PlatformState): number {
  let last = currentReleaseEntry(state)?.revision ?? 0
  for (const r of state.settingsHistory.values()) last = Math.max(last, r.revision)
  return last
}

/** A layer's values as they were right after `revision`: the last change to it at or before then. */
function layerAt(state: PlatformState, target: ChangeTarget, revision: number): SettingsValues {
  let values: SettingsValues = {}
  let at = 0
  for (const r of state.settingsHistory.values() as Iterable<SettingsHistoryRecord>) {
    if (r.revision > revision) break
    if (sameTarget(r.target, target)) {
      values = r.values
      at = r.revision
    }
  }
  // A release change after that replaced every layer (migrated settings, or a rollback's).
  for (const r of state.releaseHistory.values()) {
    if (r.revision > revision) break
    if (r.revision > at) {
      values = target.kind === 'platform' ? r.settings.platform : (r.settings.machines[target.nodeId] ?? {})
      at = r.revision
    }
  }
  return values
}

/**
 * The platform layer's changes made by a release entry, masked with that release's schema; a key
 * that schema does not know (renamed away by a migration) is masked too, as it may have been a secret.
 */
function releaseDiff(state: PlatformState, r: ReleaseHistoryRecord): SettingDiff[] {
  const record = state.releases.get(r.digest)
  const schema = record ? platformRelease(record).schema : undefined
  return diffSettings(platformRelease(record).schema, r.settingsBefore.platform, r.settings.platform).map((d) =>
    schema?.settings.has(d.key) ? d : { key: d.key, from: d.from === undefined ? undefined : SECRET_MASK, to: d.to === undefined ? undefined : SECRET_MASK, secret: true })
}

function sameTarget(a: ChangeTarget, b: ChangeTarget): boolean {
  return a.kind === b.kind && (a.kind === 'platform' || a.nodeId === (b as { nodeId: string }).nodeId)
}

function describeTarget(target: ChangeTarget): string {
  return target.kind === 'platform' ? 'platform' : `machine ${target.nodeId}`
}

function changedFiles(before: RenderedFiles, after: RenderedFiles): string[] {
  const paths = new Set([...Object.keys(before), ...Object.keys(after)])
  return [...paths].filter((p) => before[p] !== after[p]).sort()
}

const usage = (message: string): OperatorError => new OperatorError('PRYV_USAGE', message, { exitCode: ExitCode.usage })
const optionalString = (v: unknown, what: string): string | undefined => {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string') throw usage(`${what} must be a string.`)
  return v
}
const optionalRevision = (v: unknown): number | undefined => {
  if (v === undefined || v === null) return undefined
  if (!Number.isSafeInteger(v) || (v as number) < 0) throw usage('A revision is a whole number.')
  return v as number
}

/** Control-socket parameters of `settings.get`. */
export function parseGetRequest(p: Record<string, unknown>): Parameters<SettingsService['get']>[0] {
  return { key: optionalString(p.key, 'The key'), machine: optionalString(p.machine, 'The node'), effective: p.effective === true, explain: p.explain === true, reveal: p.reveal === true }
}

/** Control-socket parameters of `settings.change`. */
export function parseChangeRequest(p: Record<string, unknown>): ChangeRequest {
  if (p.set !== undefined && (typeof p.set !== 'object' || p.set === null || Array.isArray(p.set))) throw usage('set must map keys to values.')
  if (p.unset !== undefined && !(Array.isArray(p.unset) && p.unset.every((k) => typeof k === 'string'))) throw usage('unset must list keys.')
  if (p.input !== undefined && p.input !== 'text' && p.input !== 'typed') throw usage('input must be text or typed.')
  return {
    machine: optionalString(p.machine, 'The node'),
    set: p.set as Record<string, unknown> | undefined,
    unset: p.unset as string[] | undefined,
    input: p.input as 'text' | 'typed' | undefined,
    message: optionalString(p.message, 'The message'),
    dryRun: p.dryRun === true
  }
}

/** Control-socket parameters of `settings.rollback`. */
export function parseRollbackRequest(p: Record<string, unknown>): Parameters<SettingsService['rollback']>[0] {
  const revision = optionalRevision(p.revision)
  if (revision === undefined) throw usage('Name the revision to roll back to.')
  return { revision, machine: optionalString(p.machine, 'The node'), message: optionalString(p.message, 'The message'), dryRun: p.dryRun === true }
}

/** Control-socket parameters of `settings.diff`. */
export function parseDiffRequest(p: Record<string, unknown>): Parameters<SettingsService['diff']>[0] {
  return { from: optionalRevision(p.from), to: optionalRevision(p.to), machine: optionalString(p.machine, 'The node') }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** The release's templates, plus an empty set for a service that reads the certificate but has no templates. */
function withCertificateServices(templates: readonly ServiceTemplates[], certFiles: Record<string, RenderedFiles>): ServiceTemplates[] {
  const named = new Set(templates.map((t) => t.service))
  return [...templates, ...Object.keys(certFiles).filter((s) => !named.has(s)).map((service) => ({ service, files: [] }))]
}
