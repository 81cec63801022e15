export {
  CODEC_VERSION,
  DEFAULT_MAX_MESSAGE_BYTES,
  decodeEntry,
  decodeHardState,
  decodeMembershipChange,
  decodeMessage,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeMembershipChange,
  encodeMessage,
  encodeSnapshot
} from './codec.js'
export type { DecodeOptions } from './codec.js'
export {
  DEFAULT_ELECTION_TICKS,
  DEFAULT_HEARTBEAT_TICKS,
  DEFAULT_MAX_APPEND_BYTES,
  DEFAULT_MAX_ENTRY_BYTES,
  DEFAULT_MAX_INFLIGHT_APPENDS,
  SUGGESTED_TICK_MS,
  validateConfig
} from './config.js'
export type { ConsensusLogger, RaftConfig, RaftConfigInit, RandomSource } from './config.js'
export {
  CallOrderError,
  CompactedError,
  InvalidConfigError,
  LeadershipTransferError,
  MalformedMessageError,
  MembershipChangeError,
  NotLeaderError,
  ProposalDroppedError,
  SnapshotUnavailableError,
  UnavailableError
} from './errors.js'
export type { ProgressState } from './progress.js'
export { RaftCore } from './raft.js'
export { sendableBeforePersist } from './ready.js'
export type { PeerStatus, RaftStatus } from './raft.js'
export { MemoryStorage } from './storage.js'
export type { InitialState, LogStorage } from './storage.js'
export type * from './types.js'
