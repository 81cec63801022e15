import { describe, expect, it } from 'vitest'
import { DEFAULT_ELECTION_TICKS, DEFAULT_HEARTBEAT_TICKS, SUGGESTED_TICK_MS, validateConfig } from '../../src/consensus/config.js'
import { InvalidConfigError } from '../../src/consensus/errors.js'

const random = (): number => 0.5

describe('validateConfig', () => {
  it('fills the defaults', () => {
    const c = validateConfig({ id: 'n1', random })
    expect(c).toMatchObject({ heartbeatTicks: 2, electionTicks: 8, preVote: true, checkQuorum: true, maxInflightAppends: 64 })
  })

  it('keeps the defaults inside the 1 s failover goal', () => {
    // Worst case: the last heartbeat arrived just before the kill, and the timeout drew 2·electionTicks.
    const worstMs = 2 * DEFAULT_ELECTION_TICKS * SUGGESTED_TICK_MS
    expect(worstMs).toBeLessThanOrEqual(800)
    expect(DEFAULT_ELECTION_TICKS).toBeGreaterThanOrEqual(4 * DEFAULT_HEARTBEAT_TICKS)
  })

  it.each([
    [{ id: '' }, 'id must be a non-empty string'],
    [{ electionTicks: 2, heartbeatTicks: 2 }, 'electionTicks must be greater than heartbeatTicks'],
    [{ heartbeatTicks: 0 }, 'heartbeatTicks must be a whole number of at least 1, got 0'],
    [{ electionTicks: 1.5 }, 'electionTicks must be a whole number of at least 1, got 1.5'],
    [{ maxInflightAppends: -1 }, 'maxInflightAppends must be a whole number of at least 1, got -1'],
    [{ applied: -3 }, 'applied must be a whole number of at least 0, got -3']
  ])('rejects %o: "%s"', (override, message) => {
    expect(() => validateConfig({ id: 'n1', random, ...override })).toThrow(new InvalidConfigError(message))
  })

  it('requires an injected random source', () => {
    expect(() => validateConfig({ id: 'n1' } as never)).toThrow('random must be a function returning a number in [0, 1)')
  })
})
