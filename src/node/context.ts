import type { PrivateKey } from '@libp2p/interface'
import type { Logger } from '../log.js'
import type { MeshNode } from '../mesh/libp2p.js'
import type { Replica } from '../state/replica.js'
import type { NodeConfig } from './data-dir.js'

/** What the node's parts share; built once by PlatformNode. */
export interface NodeContext {
  readonly config: NodeConfig
  readonly identity: PrivateKey
  readonly selfId: string
  readonly mesh: MeshNode
  readonly replica: Replica
  readonly log: Logger
  /** Wall-clock milliseconds, stamped on proposals. */
  readonly now: () => number
  /** Monotonic milliseconds, for timeouts and liveness. */
  readonly monotonic: () => number
  /**
   * The platform key this node uses now (hex), from its keyring: `config.platformKeyHex` is only the key
   * it was created with (empty on a node that joined; stale after a key rotation).
   */
  readonly platformKey: () => string | undefined
}

export const topics = {
  log: (platformId: string): string => `/pryv/${platformId}/log/1`,
  /** Full members' liveness reports (src/membership/liveness.ts). */
  liveness: (platformId: string): string => `/pryv/${platformId}/liveness/1`
}

/** The node's own listen addresses without the /p2p suffix, as stored in its member record. */
export function ownAddresses(mesh: MeshNode): string[] {
  return [...new Set(mesh.getMultiaddrs().map((ma) => ma.toString().replace(/\/p2p\/[^/]+$/, '')))]
}
