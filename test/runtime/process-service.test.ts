import { describe, expect, it } from 'vitest'
import { backoffDelay, shouldRestart } from '../../src/runtime/process-service.js'

describe('backoffDelay', () => {
  const backoff = { initialMs: 100, maxMs: 1_000, resetAfterMs: 10_000 }
  const cases: [crashes: number, delayMs: number][] = [
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1_000],
    [60, 1_000]
  ]
  for (const [crashes, delayMs] of cases) {
    it(`waits ${delayMs} ms after crash ${crashes} in a row`, () => {
      expect(backoffDelay(crashes, backoff)).toBe(delayMs)
    })
  }
})

describe('shouldRestart', () => {
  const cases: [policy: Parameters<typeof shouldRestart>[0], exitCode: number, inARow: number, restart: boolean][] = [
    [{ policy: 'no' }, 1, 0, false],
    [{ policy: 'on-failure' }, 0, 0, false],
    [{ policy: 'on-failure' }, 1, 0, true],
    [{ policy: 'on-failure', maxRetries: 3 }, 1, 2, true],
    [{ policy: 'on-failure', maxRetries: 3 }, 1, 3, false],
    [{ policy: 'unless-stopped' }, 0, 0, true],
    [{ policy: 'unless-stopped' }, 137, 1_000, true]
  ]
  for (const [policy, exitCode, inARow, restart] of cases) {
    it(`${JSON.stringify(policy)}, exit ${exitCode} after ${inARow} restarts: ${restart}`, () => {
      expect(shouldRestart(policy, exitCode, inARow)).toBe(restart)
    })
  }
})
