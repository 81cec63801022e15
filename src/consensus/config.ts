import { InvalidConfigError } from './errors.js'
import type { NodeId } from './types.js'

/** Suggested wall-clock length of one tick. The core itself counts ticks only; the driver owns the timer. */
export const SUGGESTED_TICK_MS = 50

/**
 * With a 50 ms tick: heartbeats every 100 ms; a follower that hears nothing campaigns after a random
 * 450–800 ms, so leader kill → new leader takes about 350–800 ms plus two round trips, inside the 1 s goal.
 */
export const DEFAULT_HEARTBEAT_TICKS = 2
export const DEFAULT_ELECTION_TICKS = 8
export const DEFAULT_MAX_INFLIGHT_APPENDS = 64
export const DEFAULT_MAX_APPEND_BYTES = 1024 * 1024
export const DEFAULT_MAX_ENTRY_BYTES = 1024 * 1024

/** One line per state change, node id and term first ("n3 became leader at term 5"). */
export interface ConsensusLogger {
  info(line: string): void
  debug(line: string): void
}

/** The one source of randomness: returns a number in [0, 1). Seed it in tests and simulations. */
export type RandomSource = () => number

export interface RaftConfigInit {
  /** This node's id (its PeerId string). */
  readonly id: NodeId
  /** Randomizes election timeouts. Required: the core never calls Math.random. */
  readonly random: RandomSource
  /** Ticks between leader heartbeats. Default 2. */
  readonly heartbeatTicks?: number
  /**
   * Ticks without hearing from a leader before a follower campaigns (randomized to electionTicks+1 …
   * 2·electionTicks), and the window in which a leader must hear from a quorum (check-quorum). Default 8.
   */
  readonly electionTicks?: number
  /** Run a pre-vote round before incrementing the term, so a partitioned node cannot inflate terms. Default true. */
  readonly preVote?: boolean
  /** Leader steps down without contact from a quorum for electionTicks; followers then honour a leader lease. Default true. */
  readonly checkQuorum?: boolean
  /** Append messages a leader keeps in flight to one follower in replicate state. Default 64. */
  readonly maxInflightAppends?: number
  /** Upper bound on entry payload bytes per append message (one entry is always sent). Default 1 MiB. */
  readonly maxAppendBytes?: number
  /** Largest payload `propose` accepts. Default 1 MiB. */
  readonly maxEntryBytes?: number
  /**
   * Index up to which the application's state already reflects the log at start: the index of the
   * snapshot it restored from (defaults to firstIndex() - 1 of the storage, the last compacted entry).
   */
  readonly applied?: number
  /** Defaults to a logger that discards everything. */
  readonly logger?: ConsensusLogger
}

export type RaftConfig = Required<Omit<RaftConfigInit, 'applied'>> & { readonly applied: number | undefined }

const silent: ConsensusLogger = { info: () => {}, debug: () => {} }

function positiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidConfigError(`${name} must be a whole number of at least 1, got ${value}`)
}

/** Fills defaults and rejects impossible settings with one plain sentence. */
export function validateConfig(init: RaftConfigInit): RaftConfig {
  if (typeof init.id !== 'string' || init.id.length === 0) throw new InvalidConfigError('id must be a non-empty string')
  if (typeof init.random !== 'function') throw new InvalidConfigError('random must be a function returning a number in [0, 1)')
  const config: RaftConfig = {
    id: init.id,
    random: init.random,
    heartbeatTicks: init.heartbeatTicks ?? DEFAULT_HEARTBEAT_TICKS,
    electionTicks: init.electionTicks ?? DEFAULT_ELECTION_TICKS,
    preVote: init.preVote ?? true,
    checkQuorum: init.checkQuorum ?? true,
    maxInflightAppends: init.maxInflightAppends ?? DEFAULT_MAX_INFLIGHT_APPENDS,
    maxAppendBytes: init.maxAppendBytes ?? DEFAULT_MAX_APPEND_BYTES,
    maxEntryBytes: init.maxEntryBytes ?? DEFAULT_MAX_ENTRY_BYTES,
    applied: init.applied,
    logger: init.logger ?? silent
  }
  positiveInteger(config.heartbeatTicks, 'heartbeatTicks')
  positiveInteger(config.electionTicks, 'electionTicks')
  positiveInteger(config.maxInflightAppends, 'maxInflightAppends')
  positiveInteger(config.maxAppendBytes, 'maxAppendBytes')
  positiveInteger(config.maxEntryBytes, 'maxEntryBytes')
  if (config.electionTicks <= config.heartbeatTicks) {
    throw new InvalidConfigError('electionTicks must be greater than heartbeatTicks')
  }
  if (config.applied !== undefined && (!Number.isSafeInteger(config.applied) || config.applied < 0)) {
    throw new InvalidConfigError(`applied must be a whole number of at least 0, got ${config.applied}`)
  }
  return config
}
