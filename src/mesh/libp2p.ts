import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams } from '@libp2p/gossipsub/score'
import { identify, type Identify } from '@libp2p/identify'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { PlatformKeyring } from './keys.js'
import { hostOf, StrangerLimiter } from './stranger-limiter.js'

export type MeshNode = Libp2p<{ identify: Identify, ping: Ping, pubsub: GossipSub }>

export interface MeshInit {
  readonly privateKey: PrivateKey
  readonly keyring: PlatformKeyring
  /**
   * Whether a peer may hold a connection once its identity is known (after the private-network and
   * noise handshakes): members only. Absent: everyone with the key (a node before it knows the members).
   */
  readonly admits?: (peerId: string) => boolean
  /** Whether an IP address is one members use: never refused before the handshake, whoever else comes from it. */
  readonly isMemberHost?: (host: string) => boolean
  /** Multiaddrs to listen on, e.g. /ip4/0.0.0.0/tcp/7400. */
  readonly listen: readonly string[]
  /** Multiaddrs to announce instead of the listen addresses (for NAT or wildcard listens). */
  readonly announce?: readonly string[]
  /** Topics whose rejected messages lower the sender's score (invalid deliveries are penalised). */
  readonly guardedTopics?: readonly string[]
}

/** Weight of gossipsub's mesh delivery penalties on the platform's topics (see createMesh). */
const MESH_DELIVERY_PENALTY = 0.005

/**
 * A libp2p node of the platform mesh: TCP, the private-network key (nothing without it can even
 * finish a handshake), noise, yamux, identify, ping and gossipsub with signed messages. Only members
 * keep a connection: a peer that holds the key but is not a member is cut right after the handshake,
 * before any protocol (gossip, identify, sync...) runs, so it reads nothing.
 * Peers are added explicitly from the member list, so there is no discovery service.
 */
export async function createMesh(init: MeshInit): Promise<MeshNode> {
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: [...init.listen], announce: init.announce ? [...init.announce] : undefined },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: init.keyring.connectionProtector(),
    connectionGater: membersOnly(init),
    // Every member dials every other: a platform of N nodes brings N-1 inbound connections per node,
    // in bursts when nodes start together (and all from one address on a loopback test platform).
    connectionManager: { maxConnections: 300, inboundConnectionThreshold: 100, maxIncomingPendingConnections: 100 },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        scoreParams: platformScoreParams(init.guardedTopics ?? [])
      })
    },
    start: false
  })
}

/**
 * Gossipsub's peer scoring: invalid messages on the platform's topics lower their sender's score, and
 * mesh peers that deliver little are pruned from the mesh without ever reaching a threshold.
 */
export function platformScoreParams(topics: readonly string[]) {
  return {
    // Every member is a direct peer on a private network: loopback test platforms put many
    // peers on one IP, which gossipsub would otherwise penalise.
    IPColocationFactorWeight: 0,
    topics: Object.fromEntries(topics.map((topic) => [topic, createTopicScoreParams({
      topicWeight: 1,
      timeInMeshWeight: 0.01,
      timeInMeshQuantum: 1000,
      invalidMessageDeliveriesWeight: -10,
      invalidMessageDeliveriesDecay: 0.9,
      // A mesh peer that delivers few messages first (an observer publishes nothing) goes below 0 and
      // is pruned from the mesh: it still gets each entry once, from the publisher (flood publish),
      // instead of once per mesh peer. The weight keeps that penalty small: a full deficit (20 deliveries, squared) costs 2 per
      // topic, so the score stays above gossipsub's gossip (−10), publish (−50) and graylist (−80)
      // thresholds; at −1 a quiet observer fell to −800, was graylisted and stopped receiving the
      // log (a removed member never learnt it was removed).
      meshMessageDeliveriesWeight: -MESH_DELIVERY_PENALTY,
      meshFailurePenaltyWeight: -MESH_DELIVERY_PENALTY
    })]))
  }
}

/**
 * Connections between members only. A stranger (the key but no membership) is refused once noise has
 * authenticated it; an address that keeps sending strangers is refused before the handshake for a
 * while, unless members use it too (several machines behind one address).
 */
function membersOnly(init: MeshInit): ConnectionGater {
  const strangers = new StrangerLimiter()
  const admits = (peerId: string): boolean => init.admits?.(peerId) ?? true
  return {
    denyInboundConnection: (maConn) => {
      const host = hostOf(maConn.remoteAddr)
      return host !== undefined && strangers.blocked(host, Date.now()) && !(init.isMemberHost?.(host) ?? false)
    },
    denyInboundEncryptedConnection: (peerId, maConn) => {
      if (admits(peerId.toString())) return false
      const host = hostOf(maConn.remoteAddr)
      if (host !== undefined) strangers.refused(host, Date.now())
      return true
    },
    denyOutboundEncryptedConnection: (peerId) => !admits(peerId.toString())
  }
}
