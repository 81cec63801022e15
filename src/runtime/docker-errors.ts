import { EngineDownError, EngineError, RuntimeError, RuntimeTimeoutError } from './errors.js'

/** What dockerode rejects with: socket errors carry `code`, engine answers `statusCode` and `json`. */
export interface EngineFailure {
  readonly name?: string
  readonly code?: string
  readonly statusCode?: number
  readonly reason?: string
  readonly json?: { readonly message?: string } | null
  readonly message?: string
}

const SOCKET_ERRORS = new Set(['ECONNREFUSED', 'ENOENT', 'EACCES', 'ECONNRESET', 'EPIPE', 'ENOTSOCK'])

export function statusCodeOf(error: unknown): number | undefined {
  return (error as EngineFailure | null)?.statusCode
}

export function engineMessage(error: unknown): string {
  const e = error as EngineFailure
  return e.json?.message ?? e.reason ?? e.message ?? String(error)
}

/** Maps a dockerode failure to the runtime's error classes. */
export function toRuntimeError(error: unknown, operation: string, socketPath: string): RuntimeError {
  if (error instanceof RuntimeError) return error
  const e = error as EngineFailure
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') return new RuntimeTimeoutError(operation, { cause: error })
  if (e?.code !== undefined && SOCKET_ERRORS.has(e.code)) return new EngineDownError(socketPath, { cause: error })
  return new EngineError(operation, engineMessage(error), { cause: error })
}
