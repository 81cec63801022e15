import { describe, expect, it } from 'vitest'
import { rolloutPresence } from '../../src/node/rollout-presence.js'

describe('rollouts wait for late members and skip only those down', () => {
  it('a member with late heartbeats is late, not down; one silent for more than 30 s is down', () => {
    expect(rolloutPresence({ alive: true, lastSeenAgoMs: 500 }, 60_000)).toBe('up')
    expect(rolloutPresence({ alive: false, lastSeenAgoMs: 9000 }, 60_000)).toBe('late')
    expect(rolloutPresence({ alive: false, lastSeenAgoMs: 31_000 }, 60_000)).toBe('down')
    // Never heard from: late while this node has been up a short time, down after.
    expect(rolloutPresence({ alive: false }, 5000)).toBe('late')
    expect(rolloutPresence({ alive: false }, 40_000)).toBe('down')
  })
})
