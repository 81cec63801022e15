import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import { ExitCode, OperatorError } from '../errors.js'
import { http } from '../http-server.js'
import { formatAddress, isLoopback, type MetricsAddress } from './listen.js'

/** Renders the exposition for one scrape. */
export type RenderMetrics = () => Promise<{ readonly contentType: string, readonly text: string }>

/**
 * Serves GET/HEAD /metrics on a loopback address; 404 on any other path, 405 for other methods.
 * Requests whose Host header names something other than a loopback address or localhost are
 * refused (421), so a web page in a local browser cannot read the metrics through DNS rebinding.
 * Resolves once listening; rejects with an OperatorError (exit code 7) when the address is taken
 * or unusable.
 */
export async function serveMetrics(addr: MetricsAddress, render: RenderMetrics, onError: (err: Error) => void): Promise<Server> {
  if (!isLoopback(addr.host)) throw new Error(`metrics address ${addr.host} is not loopback`)
  const server = http.createServer((req, res) => void handle(req, res, render).catch((err: Error) => {
    onError(err)
    if (!res.headersSent) reply(res, 500, 'metrics could not be collected\n')
    else res.destroy()
  }))
  server.headersTimeout = 10_000
  server.requestTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, addr)))
    server.listen({ host: addr.host, port: addr.port, exclusive: true }, () => resolve())
  })
  server.on('error', onError)
  return server
}

/**
 * Binds `addr` and releases it at once: an early, side-effect-free check that the endpoint can
 * listen, for the CLI to run before a node starts anything. Port 0 always passes.
 */
export async function probeMetricsAddress(addr: MetricsAddress): Promise<void> {
  if (addr.port === 0) return
  const server = http.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, addr)))
    server.listen({ host: addr.host, port: addr.port, exclusive: true }, () => resolve())
  })
  await closeServer(server)
}

export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

async function handle(req: IncomingMessage, res: ServerResponse, render: RenderMetrics): Promise<void> {
  if (!hostAllowed(req.headers.host)) return reply(res, 421, 'only requests for a loopback address or localhost are served\n')
  const path = (req.url ?? '/').split('?')[0]
  if (path !== '/metrics') return reply(res, 404, 'not found: the metrics are at /metrics\n')
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD')
    return reply(res, 405, 'use GET\n')
  }
  const { contentType, text } = await render()
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' })
  res.end(req.method === 'HEAD' ? undefined : text)
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

/** A Host header naming a loopback IP or localhost (any port); HTTP/1.0 requests may omit it. */
export function hostAllowed(host: string | undefined): boolean {
  if (host === undefined) return true
  const m = /^(?:\[([^\]]+)\]|([^:]+))(?::\d+)?$/.exec(host.trim())
  if (!m) return false
  const name = (m[1] ?? m[2]!).toLowerCase()
  if (name === 'localhost') return true
  return isIP(name) !== 0 && isLoopback(name)
}

function listenError(err: NodeJS.ErrnoException, addr: MetricsAddress): OperatorError {
  const where = formatAddress(addr)
  if (err.code === 'EADDRINUSE') {
    return new OperatorError('PRYV_PORT_IN_USE', `The metrics address ${where} is already in use.`, {
      hint: 'Stop what uses that port, or choose another one with --metrics (9464 is the usual exporter port).',
      exitCode: ExitCode.environment,
      cause: err
    })
  }
  return new OperatorError('PRYV_METRICS_LISTEN_FAILED', `Cannot serve metrics on ${where}: ${err.message}.`, {
    hint: err.code === 'EACCES'
      ? 'Ports below 1024 need root: choose a higher port with --metrics.'
      : 'Use a loopback address this machine has (127.0.0.1, or [::1] when IPv6 is enabled) with --metrics.',
    exitCode: ExitCode.environment,
    cause: err
  })
}
