import { InvalidSpecError } from './errors.js'
import type { PullProgress, Runtime, ServiceSpec, ServiceStatus, StopOptions } from './runtime.js'
import { specHash } from './spec.js'

export type ActionKind = 'create' | 'recreate' | 'start' | 'restart' | 'stop' | 'remove' | 'nothing'

export interface PlannedAction {
  readonly kind: ActionKind
  readonly service: string
  /** One operator-facing sentence: why this action. */
  readonly reason: string
  /** The service is not as the node left it: it exited on its own while it should run. */
  readonly drift: boolean
}

export interface PlanOptions {
  /** Services whose configuration files changed: running ones are restarted even if their spec did not. */
  readonly configChanged?: ReadonlySet<string>
}

/**
 * What to do so that `actual` (the runtime's `list()`) matches `desired`. Pure. Removals come
 * first, then one action per desired service, in the given order.
 */
export function plan(desired: readonly ServiceSpec[], actual: readonly ServiceStatus[], options: PlanOptions = {}): PlannedAction[] {
  const byName = new Map(actual.map((s) => [s.name, s]))
  const wanted = new Set<string>()
  for (const spec of desired) {
    if (wanted.has(spec.name)) throw new InvalidSpecError(spec.name, 'it is defined twice')
    wanted.add(spec.name)
  }
  const removals = actual
    .filter((s) => !wanted.has(s.name))
    .map((s): PlannedAction => ({ kind: 'remove', service: s.name, reason: 'no longer in the desired services', drift: false }))
  return [...removals, ...desired.map((spec) => planOne(spec, byName.get(spec.name), options.configChanged?.has(spec.name) ?? false))]
}

function planOne(spec: ServiceSpec, actual: ServiceStatus | undefined, configChanged: boolean): PlannedAction {
  const service = spec.name
  const run = (spec.desiredState ?? 'running') === 'running'
  if (actual === undefined) return { kind: 'create', service, reason: 'does not exist yet', drift: false }
  const hash = specHash(spec)
  if (actual.specHash !== hash) {
    return { kind: 'recreate', service, reason: `its definition changed (spec ${actual.specHash} → ${hash})`, drift: false }
  }
  const active = actual.state === 'running' || actual.state === 'restarting'
  if (!run) {
    return active
      ? { kind: 'stop', service, reason: 'is running but should be stopped', drift: false }
      : { kind: 'nothing', service, reason: 'is stopped as desired', drift: false }
  }
  if (actual.state === 'exited') {
    return { kind: 'start', service, reason: `exited with code ${actual.exitCode} but should run`, drift: true }
  }
  if (actual.state === 'created') return { kind: 'start', service, reason: 'was created but never started', drift: false }
  if (configChanged) return { kind: 'restart', service, reason: 'its configuration files changed', drift: false }
  return { kind: 'nothing', service, reason: 'is up to date', drift: false }
}

export interface AppliedAction {
  readonly action: PlannedAction
  /** Set when the action failed; the other actions still ran. */
  readonly error?: Error
}

export interface ApplyOptions extends StopOptions {
  /** Called before each action that does something (not `nothing`). */
  readonly onAction?: (action: PlannedAction) => void
  /** Progress of the pulls that creating a service with a missing image needs. */
  readonly onPullProgress?: (event: PullProgress) => void
}

/**
 * Carries out a plan through a runtime, one action at a time. A failed action does not stop the
 * others; each result says what failed.
 */
export async function applyPlan(runtime: Runtime, desired: readonly ServiceSpec[], actions: readonly PlannedAction[], options: ApplyOptions = {}): Promise<AppliedAction[]> {
  const specs = new Map(desired.map((s) => [s.name, s]))
  const results: AppliedAction[] = []
  for (const action of actions) {
    if (action.kind === 'nothing') {
      results.push({ action })
      continue
    }
    options.onAction?.(action)
    try {
      await applyOne(runtime, specs.get(action.service), action, options)
      results.push({ action })
    } catch (error) {
      results.push({ action, error: error as Error })
    }
  }
  return results
}

async function applyOne(runtime: Runtime, spec: ServiceSpec | undefined, action: PlannedAction, options: ApplyOptions): Promise<void> {
  const { service } = action
  switch (action.kind) {
    case 'create':
    case 'recreate':
      await ensureWithImage(runtime, spec!, options)
      if ((spec!.desiredState ?? 'running') === 'running') await runtime.start(service, options)
      return
    case 'start':
      return runtime.start(service, options)
    case 'restart':
      return runtime.restart(service, options)
    case 'stop':
      return runtime.stop(service, options)
    case 'remove':
      return runtime.remove(service, options)
    case 'nothing':
      return
  }
}

/** Ensures the service, pulling its image first when the runtime can and the image is missing. */
async function ensureWithImage(runtime: Runtime, spec: ServiceSpec, options: ApplyOptions): Promise<void> {
  try {
    await runtime.ensure(spec, options)
  } catch (error) {
    if ((error as Error).name !== 'ImageMissingError' || !runtime.capabilities.pull) throw error
    await runtime.pull(spec.image!, { signal: options.signal, onProgress: options.onPullProgress })
    await runtime.ensure(spec, options)
  }
}

/** Lists, plans and applies in one go; returns what was done. */
export async function reconcile(runtime: Runtime, desired: readonly ServiceSpec[], options: ApplyOptions & PlanOptions = {}): Promise<AppliedAction[]> {
  const actual = await runtime.list(options)
  return applyPlan(runtime, desired, plan(desired, actual, options), options)
}
