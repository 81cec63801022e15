/**
 * Errors an operator can meet. Each carries a stable code (`PRYV_…`), one line saying what happened,
 * a hint naming what to do, and the process exit code the CLI uses. Code branches on `code`, never on
 * message text. Anything thrown that is not an OperatorError is a bug and is reported with its stack.
 */
export const ExitCode = {
  ok: 0,
  /** An unexpected failure (a bug): the CLI prints the stack. */
  internal: 1,
  /** Wrong command-line usage. */
  usage: 2,
  /** Invalid input: a malformed invite, bad settings, unknown keys. */
  invalidInput: 3,
  /** The request conflicts with the current state: already initialised, name taken, invite used. */
  conflict: 4,
  /** A peer or the platform could not be reached. */
  unreachable: 5,
  /** The local node is not running (no control socket). */
  notRunning: 6,
  /** The local environment refuses: data dir not writable, port in use, locked. */
  environment: 7,
  /** A release failed its health gate and the platform rolled back to the release before it. */
  rolledBack: 8
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface OperatorErrorInit {
  hint?: string
  exitCode?: ExitCodeValue
  cause?: unknown
  /** Structured details for `--json` output (never secrets). */
  details?: Record<string, unknown>
}

export class OperatorError extends Error {
  static override name = 'OperatorError'
  override name = 'OperatorError'
  readonly code: string
  readonly hint?: string
  readonly exitCode: ExitCodeValue
  readonly details?: Record<string, unknown>

  constructor(code: string, message: string, init: OperatorErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause })
    this.code = code
    this.hint = init.hint
    this.exitCode = init.exitCode ?? ExitCode.invalidInput
    this.details = init.details
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, exitCode: this.exitCode, details: this.details }
  }
}

export function isOperatorError(err: unknown): err is OperatorError {
  return err instanceof Error && typeof (err as OperatorError).code === 'string' && (err as OperatorError).code.startsWith('PRYV_')
}

/** Rebuilds an OperatorError that crossed a process boundary (control socket, mesh protocol). */
export function operatorErrorFromJSON(json: { code?: unknown, message?: unknown, hint?: unknown, exitCode?: unknown, details?: unknown }): OperatorError {
  const code = typeof json.code === 'string' && json.code.startsWith('PRYV_') ? json.code : 'PRYV_REMOTE_ERROR'
  const message = typeof json.message === 'string' ? json.message : 'the remote side reported an error without a message'
  return new OperatorError(code, message, {
    hint: typeof json.hint === 'string' ? json.hint : undefined,
    exitCode: (typeof json.exitCode === 'number' ? json.exitCode : ExitCode.internal) as ExitCodeValue,
    details: typeof json.details === 'object' && json.details !== null ? (json.details as Record<string, unknown>) : undefined
  })
}
