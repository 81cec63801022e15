/** The replicated platform state: what every node holds, applied from the platform log in order. */

export type MemberRole = 'full' | 'observer'

export interface Member {
  readonly peerId: string
  readonly name: string
  readonly role: MemberRole
  /** Multiaddrs without the /p2p suffix, as the member announced them. */
  readonly addresses: readonly string[]
  /** Milliseconds since the epoch (time of the entry that added it). */
  readonly joinedAt: number
}

export interface InviteRecord {
  readonly id: string
  /** sha256 of the token; the token itself is never stored. */
  readonly tokenHash: string
  readonly role: MemberRole
  readonly createdAt: number
  readonly createdBy: string
  readonly expiresAt: number
  readonly uses: number
  readonly usedBy: readonly string[]
  readonly revoked: boolean
}

export interface PlatformInfo {
  readonly id: string
  readonly domain: string
  readonly createdAt: number
  readonly founder: string
}

export interface PlatformState {
  /** Revision of the last applied entry; 0 before the first. Invariant: equals the log's head. */
  revision: number
  /** Hash of the last applied entry; the chain every new entry must extend. */
  headHash: string
  platform?: PlatformInfo
  /** PeerIds allowed to sign committed entries. */
  writers: string[]
  readonly members: Map<string, Member>
  readonly invites: Map<string, InviteRecord>
}

export const GENESIS_HASH = '0'.repeat(64)

export function emptyState(): PlatformState {
  return { revision: 0, headHash: GENESIS_HASH, writers: [], members: new Map(), invites: new Map() }
}
