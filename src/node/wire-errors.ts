import { ExitCode, isOperatorError } from '../errors.js'

/** How an error travels back over a mesh protocol: operator errors as they are, bugs as a generic error. */
export function errorReply(err: unknown): { error: Record<string, unknown> } {
  if (isOperatorError(err)) return { error: err.toJSON() }
  return { error: { code: 'PRYV_REMOTE_INTERNAL', message: `the remote node failed: ${(err as Error)?.message ?? String(err)}`, exitCode: ExitCode.internal } }
}
