import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { decodeJson, encodeJson } from './json.js'
import type { Libp2p } from 'libp2p'

/** Request/response protocols of the platform: one length-prefixed JSON message each way per stream. */
export const Protocols = {
  join: '/pryv/join/1.0.0',
  propose: '/pryv/propose/1.0.0',
  sync: '/pryv/sync/1.0.0',
  snapshot: '/pryv/snapshot/1.0.0'
} as const

const MAX_MESSAGE_BYTES = 8 * 1024 * 1024

export class RpcError extends Error {
  static override name = 'RpcError'
  override name = 'RpcError'
}

/** A call that failed; `requestSent` tells whether the peer may have received (and acted on) it. */
export class RpcFailedError extends Error {
  static override name = 'RpcFailedError'
  override name = 'RpcFailedError'
  constructor(message: string, readonly requestSent: boolean, options?: ErrorOptions) {
    super(message, options)
  }
}

export type RpcHandler = (request: unknown, remote: PeerId, connection: Connection) => Promise<unknown>

/** Serves `protocol`: decodes one request, answers with the handler's value, or `{ error }` if it throws. */
export async function handleRpc(node: Pick<Libp2p, 'handle'>, protocol: string, handler: RpcHandler, onHandlerError: (err: unknown) => unknown): Promise<void> {
  await node.handle(protocol, async (stream: Stream, connection: Connection) => {
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
    const signal = AbortSignal.timeout(30_000)
    try {
      const raw = await lp.read({ signal })
      const request = decodeJson(raw.subarray())
      if (request === undefined) {
        await lp.write(encodeJson({ error: { code: 'PRYV_RPC_MALFORMED', message: 'the request is not valid JSON' } }), { signal })
        return
      }
      let reply: unknown
      try {
        reply = await handler(request, connection.remotePeer, connection)
      } catch (err) {
        reply = onHandlerError(err)
      }
      await lp.write(encodeJson(reply), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
    }
  }, { runOnLimitedConnection: false })
}

/** Sends one request on a new stream to `peer` and returns the decoded reply. */
export async function callRpc(node: Pick<Libp2p, 'dialProtocol'>, peer: PeerId | Multiaddr | Multiaddr[], protocol: string, request: unknown, signal: AbortSignal): Promise<unknown> {
  let stream: Stream
  try {
    stream = await node.dialProtocol(peer, protocol, { signal })
  } catch (err) {
    throw new RpcFailedError((err as Error).message, false, { cause: err })
  }
  let sent = false
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
    sent = true
    await lp.write(encodeJson(request), { signal })
    const raw = await lp.read({ signal })
    await stream.close({ signal }).catch(() => undefined)
    const reply = decodeJson(raw.subarray())
    if (reply === undefined) throw new RpcError(`the reply on ${protocol} is not valid JSON`)
    return reply
  } catch (err) {
    stream.abort(err as Error)
    if (err instanceof RpcError) throw err
    throw new RpcFailedError((err as Error).message, sent, { cause: err })
  }
}
