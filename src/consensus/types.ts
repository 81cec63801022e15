/** A node's id: its libp2p PeerId as a string. */
export type NodeId = string

/** `normal` entries carry opaque application data (empty data is the leader's term-start no-op). */
export type EntryKind = 'normal' | 'membership'

/** One log entry. `data` of a `membership` entry is an encoded {@link MembershipChange}. Entries are immutable. */
export interface Entry {
  readonly index: number
  readonly term: number
  readonly kind: EntryKind
  readonly data: Uint8Array
}

/** What must survive a crash besides the log. Persist before sending the messages of the same Ready. */
export interface HardState {
  readonly term: number
  /** Who this node voted for in `term`, or null. */
  readonly vote: NodeId | null
  readonly commit: number
}

/** Voters elect and count for quorum; learners only receive the log. Both lists are sorted, disjoint. */
export interface Membership {
  readonly voters: readonly NodeId[]
  readonly learners: readonly NodeId[]
}

/** One server at a time: a new node joins as a learner, is promoted once caught up, and any member can be removed. */
export interface MembershipChange {
  readonly kind: 'addLearner' | 'promote' | 'remove'
  readonly node: NodeId
}

/** Application state up to and including entry `index`, plus the membership in force at that index. */
export interface Snapshot {
  readonly index: number
  readonly term: number
  readonly membership: Membership
  readonly data: Uint8Array
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader'

/** Volatile state, useful to the driver (route proposals, metrics); never persisted. */
export interface SoftState {
  readonly leader: NodeId | null
  readonly role: Role
}

/** What `propose` returns: the proposal succeeded iff a committed entry with this index AND term is applied. */
export interface ProposalTicket {
  readonly index: number
  readonly term: number
}

interface Envelope {
  readonly from: NodeId
  readonly to: NodeId
  readonly term: number
}

/** Pre-vote (§9.6 of Ongaro's thesis): `term` is the term the sender would campaign at; nobody's term changes. */
export interface PreVoteMessage extends Envelope {
  readonly type: 'preVote'
  readonly lastIndex: number
  readonly lastTerm: number
}

export interface VoteMessage extends Envelope {
  readonly type: 'vote'
  readonly lastIndex: number
  readonly lastTerm: number
  /** Set by a leadership transfer: the receiver votes even while it still hears from the old leader. */
  readonly transfer: boolean
}

export interface VoteResponseMessage extends Envelope {
  readonly type: 'preVoteResp' | 'voteResp'
  readonly reject: boolean
}

export interface AppendMessage extends Envelope {
  readonly type: 'append'
  readonly prevIndex: number
  readonly prevTerm: number
  /** Contiguous, starting at prevIndex + 1. */
  readonly entries: readonly Entry[]
  readonly commit: number
}

export interface AppendResponseMessage extends Envelope {
  readonly type: 'appendResp'
  /** On success the last index known to match; on reject the rejected prevIndex. */
  readonly index: number
  readonly reject: boolean
  /** On reject: an index at or below which the leader should probe next, and the follower's term there. */
  readonly hintIndex: number
  readonly hintTerm: number
}

export interface HeartbeatMessage extends Envelope {
  readonly type: 'heartbeat'
  readonly commit: number
}

/**
 * The leader's new commit index, sent instead of an empty append to a follower known to hold every
 * entry up to it (its acknowledged match): nothing to check, so nothing is answered. A lost one is
 * made up by the next heartbeat or append, which carry the commit index too.
 */
export interface CommitMessage extends Envelope {
  readonly type: 'commit'
  readonly commit: number
}

export interface HeartbeatResponseMessage extends Envelope {
  readonly type: 'heartbeatResp'
}

export interface SnapshotMessage extends Envelope {
  readonly type: 'snapshot'
  readonly snapshot: Snapshot
}

/** Leadership transfer: the receiver campaigns at once, skipping pre-vote. */
export interface TimeoutNowMessage extends Envelope {
  readonly type: 'timeoutNow'
}

export type Message =
  | PreVoteMessage
  | VoteMessage
  | VoteResponseMessage
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | CommitMessage
  | SnapshotMessage
  | TimeoutNowMessage

export type MessageType = Message['type']

/**
 * Everything the driver must do, in this order:
 * 1. persist `snapshot` (if any), then append `entries`, then `hardState` (if any); fsync when `mustSync`;
 * 2. send `messages` (only after step 1: they may promise what step 1 stores);
 * 3. apply `snapshot` data (if any) to the state machine, then `committedEntries` in order;
 * 4. call `advance()`.
 */
export interface Ready {
  /** Present when leader or role changed. Informational; do not persist. */
  readonly softState?: SoftState
  /** Present when term, vote or commit changed. Persist BEFORE sending `messages`. */
  readonly hardState?: HardState
  /**
   * Entries to append to stable storage BEFORE sending `messages`. The first entry may overwrite
   * existing entries at the same or higher index: drop every stored entry at index >= entries[0].index.
   */
  readonly entries: readonly Entry[]
  /** A snapshot from the leader: persist it (discarding the stored log) BEFORE sending, then restore the state machine from its data. */
  readonly snapshot?: Snapshot
  /** Committed entries to apply in index order, AFTER persisting this Ready. Skip `normal` entries with empty data (term-start no-ops). */
  readonly committedEntries: readonly Entry[]
  /** Send AFTER persisting. Delivery is best effort: loss, duplication and reordering are all safe. */
  readonly messages: readonly Message[]
  /** True when `hardState` term/vote or `entries` changed: storage must be synced to disk before sending. */
  readonly mustSync: boolean
}
