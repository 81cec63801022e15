import { pino, type Logger } from 'pino'

export type { Logger }

/**
 * Structured logs on stderr (stdout is for command output). Secret-bearing fields are censored
 * wherever they appear, as a second line of defence: code never passes secrets to the logger.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['token', '*.token', 'platformKeyHex', '*.platformKeyHex', 'invite', '*.invite'], censor: '[secret]' }
  }, pino.destination({ fd: 2, sync: true }))
}
