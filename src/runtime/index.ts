/**
 * @packageDocumentation
 * The service runtime: one interface (runtime.ts), two backends (Docker through dockerode, child
 * processes), auto-detection, and a reconcile planner.
 *
 * ```ts
 * const runtime = await detectRuntime({ platformId: 'demo', nodeId: 'n1', dataDir: '/var/pryv' })
 * await reconcile(runtime, specs)
 * await runtime.waitHealthy('core', AbortSignal.timeout(30_000))
 * ```
 */
export { type DetectInit, detectRuntime, pingEngine } from './detect.js'
export { type DockerRuntimeInit, dockerRuntime } from './docker.js'
export type { Owner } from './docker-spec.js'
export {
  EngineDownError,
  EngineError,
  ImageMissingError,
  InvalidSpecError,
  NameConflictError,
  PullFailedError,
  RuntimeError,
  RuntimeTimeoutError,
  ServiceNotFoundError,
  StartFailedError,
  UnhealthyError,
  UnsupportedError
} from './errors.js'
export { type ProcessRuntimeInit, processRuntime } from './process.js'
export type { Backoff } from './process-service.js'
export {
  type ActionKind,
  type AppliedAction,
  type ApplyOptions,
  applyPlan,
  type PlannedAction,
  type PlanOptions,
  plan,
  reconcile
} from './reconcile.js'
export type * from './runtime.js'
export { type ServiceDirs, serviceDirs, specHash, validateSpec } from './spec.js'
