import type { NodeId } from './types.js'

/** Storage: the entry at `index` was compacted away; the caller needs a snapshot instead. */
export class CompactedError extends Error {
  constructor(
    readonly index: number,
    readonly firstIndex: number
  ) {
    super(`entry ${index} is compacted (the first available entry is ${firstIndex})`)
    this.name = 'CompactedError'
  }
}

/** Storage: the entry at `index` is past the end of the log. */
export class UnavailableError extends Error {
  constructor(
    readonly index: number,
    readonly lastIndex: number
  ) {
    super(`entry ${index} is not available (the last entry is ${lastIndex})`)
    this.name = 'UnavailableError'
  }
}

/** Storage: the application is still producing a snapshot; the leader retries later. */
export class SnapshotUnavailableError extends Error {
  constructor() {
    super('the snapshot is temporarily unavailable')
    this.name = 'SnapshotUnavailableError'
  }
}

/** A proposal reached a node that is not the leader. `leader` is the last known leader, or null. */
export class NotLeaderError extends Error {
  constructor(
    readonly node: NodeId,
    readonly leader: NodeId | null
  ) {
    super(leader === null ? `${node} is not the leader and knows no leader` : `${node} is not the leader; try ${leader}`)
    this.name = 'NotLeaderError'
  }
}

/** The leader refused a proposal for now (transfer in progress, change pending, learner behind); retry later. */
export class ProposalDroppedError extends Error {
  constructor(readonly reason: string) {
    super(`proposal dropped: ${reason}`)
    this.name = 'ProposalDroppedError'
  }
}

/** A membership change that can never succeed against the current membership (retrying will not help). */
export class MembershipChangeError extends Error {
  constructor(readonly reason: string) {
    super(`membership change refused: ${reason}`)
    this.name = 'MembershipChangeError'
  }
}

/** A leadership transfer that can never succeed (unknown target, target is not a voter). */
export class LeadershipTransferError extends Error {
  constructor(readonly reason: string) {
    super(`leadership transfer refused: ${reason}`)
    this.name = 'LeadershipTransferError'
  }
}

export class InvalidConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidConfigError'
  }
}

/** The driver called the core out of order (for example `ready()` twice without `advance()`). */
export class CallOrderError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'CallOrderError'
  }
}

/** Bytes that are not a valid message of this codec version. `reason` says what is wrong. */
export class MalformedMessageError extends Error {
  constructor(readonly reason: string) {
    super(`malformed consensus message: ${reason}`)
    this.name = 'MalformedMessageError'
  }
}
