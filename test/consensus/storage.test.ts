import { describe, expect, it } from 'vitest'
import { CompactedError, UnavailableError } from '../../src/consensus/errors.js'
import { MemoryStorage } from '../../src/consensus/storage.js'
import type { Entry } from '../../src/consensus/types.js'

const entry = (index: number, term: number, size = 1): Entry => ({ index, term, kind: 'normal', data: new Uint8Array(size) })

describe('MemoryStorage', () => {
  it('answers ranges and names the error outside them', () => {
    const s = MemoryStorage.bootstrap(['a'])
    s.append([entry(2, 1), entry(3, 2), entry(4, 2)])
    expect([s.firstIndex(), s.lastIndex(), s.term(1), s.term(4)]).toEqual([2, 4, 1, 2])
    expect(s.entries(2, 5, 100).map((e) => e.index)).toEqual([2, 3, 4])
    expect(() => s.term(0)).toThrow(CompactedError)
    expect(() => s.term(5)).toThrow(UnavailableError)
    expect(() => s.entries(1, 3, 100)).toThrow(CompactedError)
    expect(() => s.entries(2, 6, 100)).toThrow(UnavailableError)
  })

  it('limits entries by size but always returns one', () => {
    const s = MemoryStorage.bootstrap(['a'])
    s.append([entry(2, 1, 10), entry(3, 1, 10), entry(4, 1, 10)])
    expect(s.entries(2, 5, 5).length).toBe(1)
    expect(s.entries(2, 5, 20).length).toBe(2)
  })

  it('truncates a conflicting suffix on append', () => {
    const s = MemoryStorage.bootstrap(['a'])
    s.append([entry(2, 1), entry(3, 1), entry(4, 1)])
    s.append([entry(3, 2)])
    expect(s.lastIndex()).toBe(3)
    expect(s.term(3)).toBe(2)
    expect(() => s.append([entry(9, 2)])).toThrow(UnavailableError)
  })

  it('compacts only up to the latest snapshot and keeps the compacted term', () => {
    const s = MemoryStorage.bootstrap(['a'])
    s.append([entry(2, 1), entry(3, 2), entry(4, 2)])
    expect(() => s.compact(3)).toThrow('cannot compact past the latest snapshot (3 > 1)')
    s.createSnapshot(3, { voters: ['a'], learners: [] }, new Uint8Array(0))
    s.compact(3)
    expect([s.firstIndex(), s.term(3), s.snapshot().index]).toEqual([4, 2, 3])
  })

  it('replaces everything with a newer snapshot from the leader', () => {
    const s = MemoryStorage.bootstrap(['a'])
    s.append([entry(2, 1)])
    s.applySnapshot({ index: 10, term: 3, membership: { voters: ['a', 'b'], learners: [] }, data: new Uint8Array(0) })
    expect([s.firstIndex(), s.lastIndex(), s.term(10), s.hardState().commit]).toEqual([11, 10, 3, 10])
    expect(s.initialState().membership.voters).toEqual(['a', 'b'])
  })
})
