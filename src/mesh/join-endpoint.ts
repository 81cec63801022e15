import type { PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import { hostOf } from './stranger-limiter.js'

/**
 * The join endpoint: a libp2p node outside the private network (no platform key needed to reach it),
 * with noise (the joiner pins the member's identity from its invite) and no service at all: it speaks
 * only the protocols registered on it, which is the join protocol alone. A joining machine uses the
 * same kind of node, without listening, to redeem its invite.
 */
export type JoinEndpoint = Libp2p

/** Connections one source address may hold open on a join endpoint at once. */
export const JOIN_CONNECTIONS_PER_ADDRESS = 8

export interface JoinEndpointInit {
  readonly privateKey: PrivateKey
  readonly listen: readonly string[]
  readonly announce?: readonly string[]
  /** Whether connections from an address are refused before the handshake (it failed too many joins). */
  readonly blocked?: (host: string) => boolean
}

export async function createJoinEndpoint(init: JoinEndpointInit): Promise<JoinEndpoint> {
  let node: JoinEndpoint | undefined
  node = await createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: [...init.listen], announce: init.announce ? [...init.announce] : undefined },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: { maxConnections: 64, maxIncomingPendingConnections: 16 },
    connectionGater: {
      denyInboundConnection: (maConn) => {
        const host = hostOf(maConn.remoteAddr)
        if (host === undefined) return false
        if (init.blocked?.(host)) return true
        return (node?.getConnections() ?? []).filter((c) => hostOf(c.remoteAddr) === host).length >= JOIN_CONNECTIONS_PER_ADDRESS
      }
    },
    start: false
  })
  return node
}

/**
 * Where a node's join endpoint listens (or is announced), from its mesh addresses: the mesh port + 1,
 * or a free port when the mesh port is chosen by the system (0).
 */
export function joinAddressesFor(meshAddresses: readonly string[]): string[] {
  return meshAddresses.map((a) => a.replace(/\/tcp\/(\d+)/, (_m, port: string) => `/tcp/${port === '0' ? 0 : Number(port) + 1}`))
}
