import { isIPv4, isIPv6 } from 'node:net'
import { ExitCode, OperatorError } from '../errors.js'

/** Where the HTTP metrics endpoint listens: an IP literal of a loopback interface and a port (0 = any). */
export interface MetricsAddress {
  readonly host: string
  readonly port: number
}

const LOOPBACK_HINT = 'Use 127.0.0.1:<port> or [::1]:<port> (for example --metrics 127.0.0.1:9464). ' +
  'Nothing beyond loopback is served without the platform key: to scrape from another machine, run ' +
  'the Prometheus agent on this machine, or put a proxy with its own access control in front.'

/**
 * Parses `host:port` (`[v6]:port` for IPv6; `localhost` means 127.0.0.1) and refuses any address
 * that is not loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104): the endpoint has no
 * authentication. Throws an OperatorError (exit code 2) saying why.
 */
export function parseMetricsListen(text: string): MetricsAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(m?.[3])
  if (!m || port > 65535) {
    throw new OperatorError('PRYV_METRICS_LISTEN_INVALID', `"${text}" is not host:port for the metrics endpoint.`, {
      hint: 'Pass a loopback address and a port, e.g. --metrics 127.0.0.1:9464 (IPv6: --metrics [::1]:9464).',
      exitCode: ExitCode.usage
    })
  }
  const named = m[2]?.toLowerCase()
  const host = named === 'localhost' ? '127.0.0.1' : (m[1] ?? m[2]!)
  if (!isLoopback(host)) {
    throw new OperatorError('PRYV_METRICS_NOT_LOOPBACK', `The metrics endpoint may only listen on a loopback address, not "${host}".`, {
      hint: LOOPBACK_HINT,
      exitCode: ExitCode.usage
    })
  }
  return { host, port }
}

/** True for IP literals of the loopback networks only (never for names). */
export function isLoopback(host: string): boolean {
  if (isIPv4(host)) return host.startsWith('127.')
  if (!isIPv6(host)) return false
  const h = host.toLowerCase()
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h)
  return mapped !== null && isIPv4(mapped[1]!) && mapped[1]!.startsWith('127.')
}

/** `host:port`, with brackets around IPv6 hosts. */
export function formatAddress(a: MetricsAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}
