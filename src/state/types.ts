/** The replicated platform state: what every node holds, applied from the platform log in order. */

import type { ChangeTarget } from '../config/change.js'
import type { SettingDiff } from '../config/diff.js'
import type { ReleaseRecord, SettingsSnapshot } from '../release/types.js'
import type { CertsRecord } from '../certs/records.js'

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

/**
 * Where applying the writer set's log has reached: its last applied index, and the revision that the
 * last normal entry up to it became. Entries that arrived by gossip first are skipped by revision.
 */
export interface RaftCursor {
  index: number
  revision: number
}

/** One applied `settings.change`, kept for `config history`, `config diff` and `config rollback`. */
export interface SettingsHistoryRecord {
  readonly revision: number
  /** Time of the entry (milliseconds since the epoch). */
  readonly at: number
  /** Name of the node the change was proposed on. */
  readonly author: string
  readonly target: ChangeTarget
  readonly message: string
  /** The target layer's changes, secrets masked. */
  readonly diff: readonly SettingDiff[]
  /** The target layer's values after the change (secrets in clear, like the layer itself); never shown unmasked without --reveal. */
  readonly values: Readonly<Record<string, unknown>>
}

/** One applied `release.apply` or `release.rollback`: the release in force from `revision` on. */
export interface ReleaseHistoryRecord {
  readonly revision: number
  readonly at: number
  /** Name of the node the change was proposed on (for an automatic rollback: the node whose health gate failed). */
  readonly author: string
  readonly kind: 'apply' | 'rollback'
  readonly name: string
  readonly version: string
  readonly digest: string
  /** The release in force before (absent for the platform's first release). */
  readonly from?: { readonly version: string; readonly digest: string }
  readonly message: string
  /** Rollbacks: whether a failed health gate asked for it, and why. */
  readonly automatic?: boolean
  /** Every settings layer right before this entry: a rollback restores it. */
  readonly settingsBefore: SettingsSnapshot
  /** Every settings layer right after it (migrated, or restored). */
  readonly settings: SettingsSnapshot
}

export interface PlatformState {
  /** Revision of the last applied entry; 0 before the first. Invariant: equals the log's head. */
  revision: number
  /** Hash of the last applied entry; the chain every new entry must extend. */
  headHash: string
  platform?: PlatformInfo
  /** PeerIds allowed to sign committed entries: the full members. */
  writers: string[]
  /** Full nodes only: progress through the writer set's log. */
  raft?: RaftCursor
  /**
   * Revision of the last entry that changed what the DNS zone is built from: its SOA serial, the
   * same on every node whatever the entries after it (invites, read barriers).
   */
  zoneRevision: number
  readonly members: Map<string, Member>
  readonly invites: Map<string, InviteRecord>
  /** username → name of the core node that hosts the user (answered as `<username>.<domain>`). */
  readonly dnsUsers: Map<string, string>
  /** keyed by `${name} ${value}` */
  readonly acmeChallenges: Map<string, AcmeChallenge>
  /** The platform settings layer, under the single key `platform`. */
  readonly platformSettings: Map<string, Readonly<Record<string, unknown>>>
  /** Machine overrides by node name; a node without overrides has no record. */
  readonly machineSettings: Map<string, Readonly<Record<string, unknown>>>
  /** keyed by the revision, zero-padded (settingsHistoryKey) so stored order is revision order */
  readonly settingsHistory: Map<string, SettingsHistoryRecord>
  /** Releases by digest: the one in force and those a rollback may return to. */
  readonly releases: Map<string, ReleaseRecord>
  /** keyed like settingsHistory; the last record names the release in force */
  readonly releaseHistory: Map<string, ReleaseHistoryRecord>
  // User registry (src/state/registry.ts): ordinary records, so a generic snapshot covers them.
  /** username → the user, its core and account fields */
  readonly registryUsers: Map<string, RegistryUser>
  /** `${field}:${lower-cased value}` → username holding that unique value */
  readonly registryUnique: Map<string, string>
  /** core node name → number of its users (placement reads it, never scans) */
  readonly registryCounts: Map<string, number>
  /** `${field}:${lower-cased value}` → the core that reserved it through `/users/validate` */
  readonly registryReservations: Map<string, RegistryReservation>
  /** invitation token → invitation */
  readonly registryInvitations: Map<string, RegistryInvitation>
  /** access request key → its state */
  readonly registryAccess: Map<string, RegistryAccess>
  // Admin app and API (issue 13): accounts, API tokens, one-time login links, audit trail.
  readonly adminAccounts: Map<string, AdminAccount>
  readonly adminTokens: Map<string, AdminToken>
  readonly adminLinks: Map<string, AdminLoginLink>
  /** keyed like settingsHistory; only the most recent AUDIT_KEPT records */
  readonly audit: Map<string, AuditRecord>
  /** The platform's certificate, ACME account and renewal (src/certs/records.ts), keyed by CERTS_KEYS. */
  readonly certs: Map<string, CertsRecord>
}

/** A user of Pryv's registry: the core node that hosts it and its account fields. */
export interface RegistryUser {
  readonly username: string
  readonly core: string
  readonly fields: Readonly<Record<string, string | number | boolean | null>>
  /** Fields indexed as unique platform-wide (besides the username). */
  readonly unique: readonly string[]
  readonly registeredAt: number
}

export interface RegistryReservation {
  readonly core: string
  readonly expiresAt: number
}

export interface RegistryInvitation {
  readonly id: string
  readonly description: string
  readonly createdAt: number
  /** Peer id of the node the invitations were created on. */
  readonly createdBy: string
  readonly consumedAt?: number
  readonly consumedBy?: string
}

/** An `access` (auth) request: the state apps poll, until `expiresAt`. */
export interface RegistryAccess {
  readonly key: string
  readonly state: Readonly<Record<string, unknown>>
  readonly expiresAt: number
}

// Admin app and API (issue 13).
export type AdminRole = 'viewer' | 'operator' | 'owner'

export interface AdminAccount {
  readonly name: string
  readonly role: AdminRole
  /** `scrypt$…` (src/admin/passwords.ts); absent until the account sets one (after a login link). */
  readonly passwordHash?: string
  /** Bumped by logout and password changes: sessions carry it, so older ones end on every node. */
  readonly sessionEpoch: number
  readonly createdAt: number
}

/** An API token for automation; only a hash of its secret is kept. */
export interface AdminToken {
  readonly id: string
  readonly label: string
  readonly role: AdminRole
  readonly secretHash: string
  readonly createdAt: number
  readonly createdBy: string
  readonly expiresAt: number
  readonly revoked: boolean
}

/** A one-time, short-lived login link for an account (created if it does not exist, as owner). */
export interface AdminLoginLink {
  readonly id: string
  readonly secretHash: string
  readonly account: string
  readonly expiresAt: number
  readonly used: boolean
}

/** One applied change: what, by which admin account, token or local operator, through which node. */
export interface AuditRecord {
  readonly revision: number
  readonly at: number
  readonly kind: string
  /** `admin:<name>`, `token:<id>` or `local` (the node's control socket). */
  readonly actor: string
  /** Name of the node the change was made on. */
  readonly node: string
  readonly summary: string
}

export const GENESIS_HASH = '0'.repeat(64)

export function emptyState(): PlatformState {
  return { revision: 0, headHash: GENESIS_HASH, zoneRevision: 0, writers: [], members: new Map(), invites: new Map(), dnsUsers: new Map(), acmeChallenges: new Map(), platformSettings: new Map(), machineSettings: new Map(), settingsHistory: new Map(), releases: new Map(), releaseHistory: new Map(), registryUsers: new Map(), registryUnique: new Map(), registryCounts: new Map(), registryReservations: new Map(), registryInvitations: new Map(), registryAccess: new Map(), adminAccounts: new Map(), adminTokens: new Map(), adminLinks: new Map(), audit: new Map(), certs: new Map() }
}

/** The keyed collections of the state, each persisted as one record per key. */
export const collections = {
  member: (s: PlatformState) => s.members,
  invite: (s: PlatformState) => s.invites,
  dnsUser: (s: PlatformState) => s.dnsUsers,
  acme: (s: PlatformState) => s.acmeChallenges,
  platformSettings: (s: PlatformState) => s.platformSettings,
  machineSettings: (s: PlatformState) => s.machineSettings,
  settingsHistory: (s: PlatformState) => s.settingsHistory,
  release: (s: PlatformState) => s.releases,
  releaseHistory: (s: PlatformState) => s.releaseHistory,
  // User registry
  registryUser: (s: PlatformState) => s.registryUsers,
  registryUnique: (s: PlatformState) => s.registryUnique,
  registryCount: (s: PlatformState) => s.registryCounts,
  registryReservation: (s: PlatformState) => s.registryReservations,
  registryInvitation: (s: PlatformState) => s.registryInvitations,
  registryAccess: (s: PlatformState) => s.registryAccess,
  // Admin app and API
  adminAccount: (s: PlatformState) => s.adminAccounts,
  adminToken: (s: PlatformState) => s.adminTokens,
  adminLink: (s: PlatformState) => s.adminLinks,
  audit: (s: PlatformState) => s.audit,
  // Certificates
  certs: (s: PlatformState) => s.certs
} as const satisfies Record<string, (s: PlatformState) => Map<string, unknown>>

export type CollectionName = keyof typeof collections

export const PLATFORM_SETTINGS_KEY = 'platform'

export function settingsHistoryKey(revision: number): string {
  return String(revision).padStart(12, '0')
}

/** The last release history record: the release in force, or undefined before the first release. */
export function currentReleaseEntry(state: PlatformState): ReleaseHistoryRecord | undefined {
  let last: ReleaseHistoryRecord | undefined
  for (const r of state.releaseHistory.values()) last = r
  return last
}

/** The release in force. */
export function currentRelease(state: PlatformState): ReleaseRecord | undefined {
  const entry = currentReleaseEntry(state)
  return entry ? state.releases.get(entry.digest) : undefined
}
