import { ExitCode, OperatorError } from '../errors.js'
import { isLoopback } from '../metrics/listen.js'

export interface RegisterAddress {
  readonly host: string
  readonly port: number
}

/**
 * Parses `--register host:port` (`[v6]:port`; `localhost` = 127.0.0.1). Loopback only: the register
 * API is reached through the node's reverse proxy (TLS), never directly from another machine.
 */
export function parseRegisterListen(text: string): RegisterAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(m?.[3])
  if (!m || port > 65535) {
    throw new OperatorError('PRYV_REGISTER_LISTEN_INVALID', `"${text}" is not host:port for the register API.`, {
      hint: 'Pass a loopback address and a port, e.g. --register 127.0.0.1:9000.',
      exitCode: ExitCode.usage
    })
  }
  const host = m[2]?.toLowerCase() === 'localhost' ? '127.0.0.1' : (m[1] ?? m[2]!)
  if (!isLoopback(host)) {
    throw new OperatorError('PRYV_REGISTER_NOT_LOOPBACK', `The register API may only listen on a loopback address, not "${host}".`, {
      hint: 'Use 127.0.0.1:<port> (the release\'s reverse proxy forwards reg.<domain> and access.<domain> to it over TLS).',
      exitCode: ExitCode.usage
    })
  }
  return { host, port }
}

export function formatRegisterAddress(a: RegisterAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}
