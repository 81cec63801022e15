import { ExitCode, isOperatorError } from '../errors.js'
import type { Io } from './io.js'

/**
 * Prints an error for an operator: code, one line, and a hint. An error without a PRYV_ code is a
 * bug, so it is printed with its stack for the bug report. Returns the exit code.
 */
export function reportError(err: unknown, io: Io, json: boolean): number {
  if (isOperatorError(err)) {
    if (json) io.out(JSON.stringify({ error: err.toJSON() }))
    else {
      io.err(`error ${err.code}: ${err.message}`)
      if (err.hint) io.err(`  hint: ${err.hint.replaceAll('\n', '\n  ')}`)
    }
    return err.exitCode
  }
  const e = err as Error
  if (json) io.out(JSON.stringify({ error: { code: 'PRYV_INTERNAL', message: e?.message ?? String(err) } }))
  io.err(`internal error (this is a bug in pryv-node; please report it with the lines below):\n${e?.stack ?? String(err)}`)
  return ExitCode.internal
}
