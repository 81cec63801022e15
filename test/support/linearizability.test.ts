import { describe, expect, it } from 'vitest'
import { checkLinearizable, type Operation } from './linearizability.js'

const w = (value: string, invokedAt: number, returnedAt?: number, key = 'k'): Operation => ({ key, kind: 'write', value, invokedAt, returnedAt })
const r = (value: string | undefined, invokedAt: number, returnedAt?: number, key = 'k'): Operation => ({ key, kind: 'read', value, invokedAt, returnedAt })

describe('the linearizability checker', () => {
  it.each([
    ['sequential write then read', [w('1', 0, 1), r('1', 2, 3)]],
    ['a read overlapping a write may see either value', [w('1', 0, 10), r(undefined, 1, 2), r('1', 3, 4)]],
    ['concurrent writes in either order', [w('1', 0, 5), w('2', 1, 6), r('1', 7, 8)]],
    ['a timed-out write that never happened', [w('1', 0, 1), w('2', 2), r('1', 3, 4)]],
    ['a timed-out write that happened later', [w('1', 0, 1), w('2', 2), r('1', 3, 4), r('2', 5, 6)]],
    ['keys are independent', [w('1', 0, 1, 'a'), w('x', 0, 1, 'b'), r('x', 2, 3, 'b'), r('1', 2, 3, 'a')]]
  ])('accepts %s', (_what, history) => {
    expect(checkLinearizable(history).ok).toBe(true)
  })

  it.each([
    ['a stale read after a completed write', [w('1', 0, 1), w('2', 2, 3), r('1', 4, 5)]],
    ['a lost acknowledged write', [w('1', 0, 1), r(undefined, 2, 3)]],
    ['a value nobody wrote', [w('1', 0, 1), r('7', 2, 3)]],
    ['reads going back in time', [w('1', 0, 10), r('1', 1, 2), r(undefined, 3, 4)]],
    ['a timed-out write seen, then unseen', [w('1', 0, 1), w('2', 2), r('2', 3, 4), r('1', 5, 6)]]
  ])('rejects %s', (_what, history) => {
    expect(checkLinearizable(history)).toEqual({ ok: false, key: 'k' })
  })
})
