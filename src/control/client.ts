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
      reject(new OperatorError('PRYV_NODE_TIMEOUT', `The local node did not answer "${method}" within ${timeoutMs / 1000} s.`, { exitCode: ExitCode.unreachable }))
    })
    socket.on('connect', () => socket.write(`${JSON.stringify({ method, params })}\n`))
    socket.on('data', (chunk: string) => { buffer += chunk })
    socket.on('end', () => resolve(buffer))
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new OperatorError('PRYV_NODE_NOT_RUNNING', `No pryv-node is running on this data dir (no control socket at ${socketPath}).`, {
          hint: 'Start it with `pryv-node start`, or point to its data dir with --data-dir.',
          exitCode: ExitCode.notRunning
        }))
      } else if (err.code === 'EACCES') {
        reject(new OperatorError('PRYV_NODE_ACCESS_DENIED', `Not allowed to talk to the node at ${socketPath}.`, {
          hint: 'Run the command as the user that runs the node (usually root).',
          exitCode: ExitCode.environment
        }))
      } else {
        reject(err)
      }
    })
  })
  if (line.trim() === '') {
    throw new OperatorError('PRYV_NODE_NO_REPLY', `The local node closed the connection without answering "${method}": it may have stopped.`, {
      hint: 'Look at the node\'s log (its last lines say why it stopped), then start it again with `pryv-node start`.',
      exitCode: ExitCode.unreachable
    })
  }
  let reply: { result?: unknown, error?: Record<string, unknown> }
  try {
    reply = JSON.parse(line)
  } catch {
    throw new OperatorError('PRYV_NODE_BAD_REPLY', 'The local node sent a reply that cannot be read.', { exitCode: ExitCode.internal })
  }
  if (reply.error) throw operatorErrorFromJSON(reply.error)
  return reply.result
}
