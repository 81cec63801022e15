import { createServer, isIP } from 'node:net'
import { ExitCode, OperatorError } from '../errors.js'
import { isLoopback } from '../metrics/listen.js'

/** Where the admin server listens; HTTPS unless the address is loopback. */
export interface AdminAddress {
  readonly host: string
  readonly port: number
  readonly https: boolean
}

export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:7480'

/**
 * Parses `--admin`: `host:port` (`[v6]:port`; `localhost` is 127.0.0.1) or `none` (undefined). A
 * non-loopback address is served over HTTPS only.
 */
export function parseAdminListen(text: string): AdminAddress | undefined {
  if (text.trim().toLowerCase() === 'none') return undefined
  const m = /^(?:\[([^\]]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text.trim())
  const port = Number(m?.[3])
  const host = m?.[2]?.toLowerCase() === 'localhost' ? '127.0.0.1' : (m?.[1] ?? m?.[2])
  if (!m || !host || port > 65535 || isIP(host) === 0) {
    throw new OperatorError('PRYV_ADMIN_LISTEN_INVALID', `"${text}" is not an IP address and port for the admin app.`, {
      hint: 'Pass e.g. --admin 127.0.0.1:7480 (loopback, plain HTTP), --admin 0.0.0.0:7443 (HTTPS), or --admin none.',
      exitCode: ExitCode.usage
    })
  }
  return { host, port, https: !isLoopback(host) }
}

export function adminUrl(a: AdminAddress, port: number): string {
  const host = a.host === '0.0.0.0' || a.host === '::' ? 'localhost' : a.host.includes(':') ? `[${a.host}]` : a.host
  return `${a.https ? 'https' : 'http'}://${host}:${port}`
}

export function adminListenError(err: NodeJS.ErrnoException, a: AdminAddress): OperatorError {
  const where = `${a.host}:${a.port}`
  if (err.code === 'EADDRINUSE') {
    return new OperatorError('PRYV_PORT_IN_USE', `The admin address ${where} is already in use.`, { hint: 'Stop what uses that port, or choose another one with --admin (or --admin none).', exitCode: ExitCode.environment, cause: err })
  }
  return new OperatorError('PRYV_ADMIN_LISTEN_FAILED', `Cannot serve the admin app on ${where}: ${err.message}.`, { hint: 'Use an address of this machine and a port this user may open (--admin).', exitCode: ExitCode.environment, cause: err })
}

/** Binds and releases `a` at once, so the CLI refuses a taken address before a node creates anything. Port 0 always passes. */
export async function probeAdminAddress(a: AdminAddress): Promise<void> {
  if (a.port === 0) return
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(adminListenError(err, a)))
    server.listen({ host: a.host, port: a.port, exclusive: true }, () => resolve())
  })
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
