import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { decodeJson, encodeJson } from './json.js'
import type { MeshNode } from './libp2p.js'

/** Request/response protocols of the platform: one length-prefixed JSON message each way per stream. */
export const Protocols = {
  join: '/pryv/join/1.0.0',
  propose: '/pryv/propose/1.0.0',
  sync: '/pryv/sync/1.0.0'
} as const

const MAX_MESSAGE_BYTES = 8 * 1024 * 1024

export class RpcError extends Error {
  static override name = 'RpcError'
  override name = 'RpcError'
}

export type RpcHandler = (request: unknown, remote: PeerId, connection: Connection) => Promise<unknown>

/** Serves `protocol`: decodes one request, answers with the handler's value, or `{ error }` if it throws. */
export async function handleRpc(node: MeshNode, protocol: string, handler: RpcHandler, onHandlerError: (err: unknown) => unknown): Promise<void> {
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
export async function callRpc(node: MeshNode, peer: PeerId | Multiaddr | Multiaddr[], protocol: string, request: unknown, signal: AbortSignal): Promise<unknown> {
  const stream = await node.dialProtocol(peer, protocol, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_MESSAGE_BYTES })
    await lp.write(encodeJson(request), { signal })
    const raw = await lp.read({ signal })
    await stream.close({ signal }).catch(() => undefined)
    const reply = decodeJson(raw.subarray())
    if (reply === undefined) throw new RpcError(`the reply on ${protocol} is not valid JSON`)
    return reply
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
