import { join } from 'node:path'
import type { SettingsValues } from '../config/layers.js'
import type { PlatformRelease } from '../release/platform.js'
import { serviceSpecs, writeReleaseFiles } from '../release/index.js'
import { type PlannedAction, applyPlan, plan } from '../runtime/reconcile.js'
import type { Runtime, ServiceSpec } from '../runtime/runtime.js'
import type { Logger } from '../log.js'

/** What bringing this node's services to a release did. */
export interface RunOutcome {
  /** Services created or started, and healthy afterwards. */
  readonly started: readonly string[]
  /** Services recreated (new image or definition) or restarted (new configuration), and healthy afterwards. */
  readonly restarted: readonly string[]
  readonly removed: readonly string[]
  /** Services found not as the node left them (exited on their own) and started again. */
  readonly drifted: readonly string[]
  /** Services that failed to change or did not become healthy: the release's health gate failed here. */
  readonly failures: readonly { readonly service: string; readonly code: string; readonly message: string }[]
}

const STOP_TIMEOUT_MS = 5000
/** Added to what a spec's own health check needs before the gate gives up. */
const HEALTH_MARGIN_MS = 5000
const DEFAULT_HEALTH_WAIT_MS = 30_000

/**
 * Runs the release's services on this node through the runtime: renders each service's spec from
 * the effective settings, plans against what runs (spec hashes, configuration changes), and carries
 * the plan out, then waits for every changed service to be healthy. `beforeDisruption` is awaited
 * before anything that already runs is touched: the rollout's wave gate.
 */
export class ServiceRunner {
  constructor(
    private readonly runtime: Runtime,
    private readonly dataDir: string,
    private readonly log: Logger
  ) {}

  specs(release: PlatformRelease, values: SettingsValues): ServiceSpec[] {
    const record = release.record!
    return serviceSpecs(record, {
      values,
      backend: this.runtime.kind,
      serviceDir: (service) => join(this.dataDir, 'services', service),
      releaseDir: this.releaseDir(record.digest),
      nodeExecutable: process.execPath
    })
  }

  async run(release: PlatformRelease, values: SettingsValues, configChanged: ReadonlySet<string>, beforeDisruption: () => Promise<boolean>): Promise<RunOutcome | undefined> {
    const record = release.record!
    await writeReleaseFiles(record, this.releaseDir(record.digest))
    const specs = this.specs(release, values)
    const actions = plan(specs, await this.runtime.list(), { configChanged })
    const disrupts = actions.some((a) => a.kind === 'recreate' || a.kind === 'restart' || a.kind === 'remove' || a.kind === 'stop')
    if (disrupts && !(await beforeDisruption())) return undefined
    const results = await applyPlan(this.runtime, specs, actions, {
      timeoutMs: STOP_TIMEOUT_MS,
      onAction: (a) => this.log[a.drift ? 'warn' : 'info']({ service: a.service, action: a.kind, reason: a.reason, drift: a.drift }, a.drift ? 'service drifted from the release: repairing' : 'service changing'),
      onPullProgress: (p) => this.log.debug({ image: p.image, status: p.status }, 'pulling')
    })
    const drifted = actions.filter((a) => a.drift).map((a) => a.service)
    const failures: Array<RunOutcome['failures'][number]> = []
    const changed: PlannedAction[] = []
    const removed: string[] = []
    const byName = new Map(specs.map((s) => [s.name, s]))
    for (const { action, error } of results) {
      if (error) {
        failures.push({ service: action.service, code: (error as { code?: string }).code ?? 'PRYV_SERVICE_FAILED', message: error.message })
      } else if (action.kind === 'remove') {
        removed.push(action.service)
      } else if (startsService(action)) {
        changed.push(action)
      }
    }
    // The health gate: every service this run started must become healthy in the time its check allows.
    const healthy = await Promise.all(changed.map(async ({ service }) => {
      try {
        await this.runtime.waitHealthy(service, AbortSignal.timeout(healthWaitMs(byName.get(service))))
        return true
      } catch (err) {
        failures.push({ service, code: (err as { code?: string }).code ?? 'PRYV_RUNTIME_UNHEALTHY', message: (err as Error).message })
        return false
      }
    }))
    const passed = changed.filter((_, i) => healthy[i])
    return {
      started: passed.filter((a) => a.kind === 'create' || a.kind === 'start').map((a) => a.service),
      restarted: passed.filter((a) => a.kind === 'recreate' || a.kind === 'restart').map((a) => a.service),
      removed,
      drifted,
      failures
    }
  }

  private releaseDir(digest: string): string {
    return join(this.dataDir, 'releases', digest.slice(0, 16))
  }
}

function startsService(action: PlannedAction): boolean {
  return action.kind === 'create' || action.kind === 'recreate' || action.kind === 'start' || action.kind === 'restart'
}

/** Long enough for the spec's own check to decide: start period plus every retry, and a margin. */
function healthWaitMs(spec: ServiceSpec | undefined): number {
  const h = spec?.health
  if (!h) return DEFAULT_HEALTH_WAIT_MS
  return (h.startPeriodMs ?? 0) + ((h.retries ?? 3) + 1) * ((h.intervalMs ?? 5000) + (h.timeoutMs ?? 3000)) + HEALTH_MARGIN_MS
}
