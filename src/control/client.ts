import { createConnection } from 'node:net'
import { ExitCode, OperatorError, operatorErrorFromJSON } from '../errors.js'

/** Calls one method of the local node's control socket. */
export async function callControl(socketPath: string, method: string, params: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<unknown> {
  const line = await new Promise<string>((resolve, reject) => {
    const socket = createConnection(socketPath)
    let buffer = ''
    socket.setEncoding('utf8')
    socket.setTimeout(timeoutMs, () => {
      socket.destroy()
      reject(timeoutError(method, timeoutMs))
    })
    socket.on('connect', () => socket.write(`${JSON.stringify({ method, params })}\n`))
    socket.on('data', (chunk: string) => { buffer += chunk })
    socket.on('end', () => resolve(buffer))
    socket.on('error', (err: NodeJS.ErrnoException) => reject(connectionError(err, socketPath)))
  })
  if (line.trim() === '') throw noReplyError(method)
  let reply: { result?: unknown, error?: Record<string, unknown> }
  try {
    reply = JSON.parse(line)
  } catch {
    throw badReplyError()
  }
  if (reply.error) throw operatorErrorFromJSON(reply.error)
  return reply.result
}

export interface StreamControlOptions {
  /** Ends the stream: the connection closes, and the node aborts the handler. */
  readonly signal?: AbortSignal
  /** Fails when the node sends nothing for this long; none by default (e.g. to follow logs). */
  readonly idleTimeoutMs?: number
}

/**
 * Calls a method whose reply is a stream (see ControlServer): yields each item as the node sends it,
 * returns at the node's end line, throws its error as an OperatorError. Leaving the loop early (or
 * aborting `signal`) closes the connection, which stops the handler in the node. A method that
 * answers with one value yields that value once.
 */
export async function* streamControl(socketPath: string, method: string, params: Record<string, unknown> = {}, options: StreamControlOptions = {}): AsyncGenerator<unknown, void, undefined> {
  const { signal, idleTimeoutMs } = options
  if (signal?.aborted) return
  const socket = createConnection(socketPath)
  socket.setEncoding('utf8')
  let failure: OperatorError | undefined
  const onAbort = (): void => {
    socket.destroy()
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  if (idleTimeoutMs !== undefined) {
    socket.setTimeout(idleTimeoutMs, () => {
      failure = timeoutError(method, idleTimeoutMs)
      socket.destroy()
    })
  }
  socket.write(`${JSON.stringify({ method, params, stream: true })}\n`)
  let buffer = ''
  try {
    try {
      for await (const chunk of socket as AsyncIterable<string>) {
        buffer += chunk
        for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
          const line = buffer.slice(0, nl)
          buffer = buffer.slice(nl + 1)
          let reply: { item?: unknown, end?: unknown, result?: unknown, error?: Record<string, unknown> }
          try {
            reply = JSON.parse(line)
          } catch {
            throw badReplyError()
          }
          if (reply.error) throw operatorErrorFromJSON(reply.error)
          if (reply.end === true) return
          if ('result' in reply) {
            yield reply.result
            return
          }
          yield reply.item
        }
      }
    } catch (err) {
      if (err instanceof OperatorError) throw err
      if (signal?.aborted) return
      if (failure) throw failure
      // A connection closed by the node mid-stream ends the same way as one closed without answering.
      if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET') throw noReplyError(method)
      throw connectionError(err as NodeJS.ErrnoException, socketPath)
    }
    if (signal?.aborted) return
    if (failure) throw failure
    throw noReplyError(method)
  } finally {
    signal?.removeEventListener('abort', onAbort)
    socket.destroy()
  }
}

function connectionError(err: NodeJS.ErrnoException, socketPath: string): Error {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
    return new OperatorError('PRYV_NODE_NOT_RUNNING', `No pryv-node is running on this data dir (no control socket at ${socketPath}).`, {
      hint: 'Start it with `pryv-node start`, or point to its data dir with --data-dir.',
      exitCode: ExitCode.notRunning
    })
  }
  if (err.code === 'EACCES') {
    return new OperatorError('PRYV_NODE_ACCESS_DENIED', `Not allowed to talk to the node at ${socketPath}.`, {
      hint: 'Run the command as the user that runs the node (usually root).',
      exitCode: ExitCode.environment
    })
  }
  return err
}

function timeoutError(method: string, timeoutMs: number): OperatorError {
  return new OperatorError('PRYV_NODE_TIMEOUT', `The local node did not answer "${method}" within ${timeoutMs / 1000} s.`, { exitCode: ExitCode.unreachable })
}

function noReplyError(method: string): OperatorError {
  return new OperatorError('PRYV_NODE_NO_REPLY', `The local node closed the connection without answering "${method}": it may have stopped.`, {
    hint: 'Look at the node\'s log (its last lines say why it stopped), then start it again with `pryv-node start`.',
    exitCode: ExitCode.unreachable
  })
}

function badReplyError(): OperatorError {
  return new OperatorError('PRYV_NODE_BAD_REPLY', 'The local node sent a reply that cannot be read.', { exitCode: ExitCode.internal })
}
