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

/** A TXT record for an ACME DNS-01 challenge; it vanishes from DNS answers after `expiresAt`. */
export interface AcmeChallenge {
  /** Relative to the domain, e.g. "_acme-challenge" or "_acme-challenge.reg". */
  readonly name: string
  readonly value: string
  readonly expiresAt: number
}

export interface PlatformState {
  /** Revision of the last applied entry; 0 before the first. Invariant: equals the log's head. */
  revision: number
  /** Hash of the last applied entry; the chain every new entry must extend. */
  headHash: string
  platform?: PlatformInfo
  /** PeerIds allowed to sign committed entries: the full members. */
  writers: string[]
  readonly members: Map<string, Member>
  readonly invites: Map<string, InviteRecord>
  /** username → name of the core node that hosts the user (answered as `<username>.<domain>`). */
  readonly dnsUsers: Map<string, string>
  /** keyed by `${name} ${value}` */
  readonly acmeChallenges: Map<string, AcmeChallenge>
}

export const GENESIS_HASH = '0'.repeat(64)

export function emptyState(): PlatformState {
  return { revision: 0, headHash: GENESIS_HASH, writers: [], members: new Map(), invites: new Map(), dnsUsers: new Map(), acmeChallenges: new Map() }
}

/** The keyed collections of the state, each persisted as one record per key. */
export const collections = {
  member: (s: PlatformState) => s.members,
  invite: (s: PlatformState) => s.invites,
  dnsUser: (s: PlatformState) => s.dnsUsers,
  acme: (s: PlatformState) => s.acmeChallenges
} as const satisfies Record<string, (s: PlatformState) => Map<string, unknown>>

export type CollectionName = keyof typeof collections
