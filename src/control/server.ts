import { promises as fs } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { ExitCode, isOperatorError, OperatorError } from '../errors.js'
import type { Logger } from '../log.js'

/**
 * The local control channel: a Unix socket in the data dir, owner-only (0600 in a 0700 dir), so local
 * root (or the node's user) is the admin and nothing is exposed on the network.
 *
 * One JSON request line per connection, `{ method, params, stream? }`. A handler answers in one of
 * two ways:
 * - a value: one reply line, `{ result }` or `{ error }`, then the connection ends;
 * - a {@link ControlStream} (a request that says `stream: true`): one `{ item }` line per value the
 *   stream yields, then a final `{ end: true }` line, or `{ error }` if it throws. The client ends a
 *   stream early by closing the connection (Ctrl-C): the handler's signal aborts, and its iterator is
 *   returned.
 *
 * Every handler gets an AbortSignal that aborts when the client's connection closes, or when the
 * server stops.
 */
export type ControlHandler = (params: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>

/**
 * A streamed reply, marked by its class so that no plain value is ever mistaken for one. The
 * iterable should end soon after the handler's signal aborts (pass the signal down to what it waits on).
 */
export class ControlStream<T = unknown> {
  constructor(readonly items: AsyncIterable<T>) {}
}

/** Marks `items` as a streamed reply: `return controlStream(lines())` from a handler. */
export function controlStream<T>(items: AsyncIterable<T>): ControlStream<T> {
  return new ControlStream(items)
}

const MAX_REQUEST_BYTES = 1024 * 1024

type OneShot = { result: unknown } | { error: Record<string, unknown> }

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

  /** Closes every connection (which aborts the handlers still running), then the socket. */
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
    // The client is gone (or the server stops): whatever still runs for it stops.
    const closed = new AbortController()
    socket.on('close', () => {
      this.sockets.delete(socket)
      closed.abort()
    })
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
      // Keep reading (and dropping) so that the client's end of the connection is seen as 'end'.
      socket.on('end', () => closed.abort())
      socket.resume()
      void this.answer(buffer.slice(0, nl), socket, closed.signal)
    })
  }

  private async answer(line: string, socket: Socket, signal: AbortSignal): Promise<void> {
    let request: { method?: unknown, params?: unknown, stream?: unknown }
    try {
      request = JSON.parse(line)
    } catch {
      socket.end(replyLine({ error: { code: 'PRYV_CONTROL_MALFORMED', message: 'the request is not valid JSON' } }))
      return
    }
    const method = request.method
    const handler = typeof method === 'string' && Object.hasOwn(this.handlers, method) ? this.handlers[method] : undefined
    if (!handler) {
      socket.end(replyLine({ error: { code: 'PRYV_CONTROL_UNKNOWN_METHOD', message: `unknown method ${JSON.stringify(method)}` } }))
      return
    }
    let value: unknown
    try {
      const params = typeof request.params === 'object' && request.params !== null ? (request.params as Record<string, unknown>) : {}
      value = await handler(params, signal)
    } catch (err) {
      socket.end(replyLine(this.errorReply(err, method)))
      return
    }
    if (!(value instanceof ControlStream)) {
      socket.end(replyLine({ result: value }))
      return
    }
    if (request.stream !== true) {
      socket.end(replyLine({ error: { code: 'PRYV_CONTROL_STREAM_ONLY', message: `"${String(method)}" streams its reply: this client cannot read it`, exitCode: ExitCode.usage } }))
      return
    }
    await this.stream(value, socket, signal, method as string)
  }

  /** Writes one line per item, waiting for the socket to drain; ends with `{ end }` or `{ error }`. */
  private async stream(reply: ControlStream, socket: Socket, signal: AbortSignal, method: string): Promise<void> {
    let final: Record<string, unknown> = { end: true }
    try {
      for await (const item of reply.items) {
        if (signal.aborted) break
        if (!socket.write(replyLine({ item })) && !signal.aborted) await drained(socket, signal)
        if (signal.aborted) break
      }
    } catch (err) {
      // A handler that stops because its client left is not a failure.
      if (signal.aborted) return
      final = this.errorReply(err, method)
    }
    if (!signal.aborted) socket.end(replyLine(final))
  }

  private errorReply(err: unknown, method: unknown): { error: Record<string, unknown> } {
    if (isOperatorError(err)) {
      const e = err as Partial<OperatorError>
      return { error: typeof e.toJSON === 'function' ? e.toJSON() : { code: e.code, message: e.message, hint: e.hint, exitCode: e.exitCode } }
    }
    this.log.error({ err, method }, 'control request failed')
    return { error: { code: 'PRYV_NODE_INTERNAL', message: `the node failed: ${(err as Error).message}`, exitCode: ExitCode.internal } }
  }
}

function replyLine(reply: OneShot | Record<string, unknown>): string {
  return `${JSON.stringify(reply)}\n`
}

function drained(socket: Socket, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done)
      signal.removeEventListener('abort', done)
      resolve()
    }
    socket.on('drain', done)
    signal.addEventListener('abort', done, { once: true })
  })
}
