import { promises as fs } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { ExitCode, isOperatorError, OperatorError } from '../errors.js'
import type { Logger } from '../log.js'

/**
 * The local control channel: a Unix socket in the data dir, owner-only (0600 in a 0700 dir), so local
 * root (or the node's user) is the admin and nothing is exposed on the network. One JSON request
 * line per connection, one JSON reply line back.
 */
export type ControlHandler = (params: Record<string, unknown>) => Promise<unknown>

const MAX_REQUEST_BYTES = 1024 * 1024

export class ControlServer {
  private server?: Server
  private readonly sockets = new Set<Socket>()

  constructor(
    private readonly path: string,
    private readonly handlers: Readonly<Record<string, ControlHandler>>,
    private readonly log: Logger
  ) {}

  /** The caller holds the data-dir lock, so a socket file left here is stale. */
  async start(): Promise<void> {
    await fs.rm(this.path, { force: true })
    const server = createServer((socket) => this.serve(socket))
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        reject(new OperatorError('PRYV_CONTROL_SOCKET', `Cannot open the control socket ${this.path}: ${err.message}.`, {
          hint: err.code === 'EINVAL' || err.code === 'ENAMETOOLONG' ? 'The data dir path is too long for a Unix socket (max ~100 characters): use a shorter --data-dir.' : undefined,
          exitCode: ExitCode.environment,
          cause: err
        }))
      })
      server.listen(this.path, () => resolve())
    })
    await fs.chmod(this.path, 0o600)
    this.server = server
  }

  async stop(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
    await fs.rm(this.path, { force: true })
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      if (buffer.length > MAX_REQUEST_BYTES) {
        socket.end(`${JSON.stringify({ error: { code: 'PRYV_CONTROL_REQUEST_TOO_LARGE', message: 'the request is too large' } })}\n`)
        return
      }
      const nl = buffer.indexOf('\n')
      if (nl < 0) return
      socket.removeAllListeners('data')
      void this.answer(buffer.slice(0, nl)).then((reply) => socket.end(`${JSON.stringify(reply)}\n`))
    })
  }

  private async answer(line: string): Promise<unknown> {
    let request: { method?: unknown, params?: unknown }
    try {
      request = JSON.parse(line)
    } catch {
      return { error: { code: 'PRYV_CONTROL_MALFORMED', message: 'the request is not valid JSON' } }
    }
    const handler = typeof request.method === 'string' ? this.handlers[request.method] : undefined
    if (!handler) return { error: { code: 'PRYV_CONTROL_UNKNOWN_METHOD', message: `unknown method ${JSON.stringify(request.method)}` } }
    try {
      const params = typeof request.params === 'object' && request.params !== null ? (request.params as Record<string, unknown>) : {}
      return { result: await handler(params) }
    } catch (err) {
      if (isOperatorError(err)) return { error: err.toJSON() }
      this.log.error({ err, method: request.method }, 'control request failed')
      return { error: { code: 'PRYV_NODE_INTERNAL', message: `the node failed: ${(err as Error).message}`, exitCode: ExitCode.internal } }
    }
  }
}
