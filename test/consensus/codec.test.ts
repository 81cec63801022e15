import { describe, expect, it } from 'vitest'
import {
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
} from '../../src/consensus/codec.js'
import { MalformedMessageError } from '../../src/consensus/errors.js'
import { SeededRandom } from '../../src/consensus/sim/random.js'
import type { Message } from '../../src/consensus/types.js'

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b)
const peer = '12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'
const base = { from: peer, to: 'n2', term: 7 }

const samples: readonly Message[] = [
  { type: 'preVote', ...base, lastIndex: 10, lastTerm: 6 },
  { type: 'vote', ...base, lastIndex: 2 ** 40, lastTerm: 6, transfer: true },
  { type: 'preVoteResp', ...base, reject: false },
  { type: 'voteResp', ...base, reject: true },
  {
    type: 'append',
    ...base,
    prevIndex: 41,
    prevTerm: 5,
    commit: 40,
    entries: [
      { index: 42, term: 6, kind: 'normal', data: bytes(1, 2, 3) },
      { index: 43, term: 7, kind: 'membership', data: encodeMembershipChange({ kind: 'addLearner', node: 'n4' }) },
      { index: 44, term: 7, kind: 'normal', data: new Uint8Array(0) }
    ]
  },
  { type: 'appendResp', ...base, index: 44, reject: true, hintIndex: 30, hintTerm: 4 },
  { type: 'heartbeat', ...base, commit: 2 ** 53 - 1 },
  { type: 'heartbeatResp', ...base },
  { type: 'commit', ...base, commit: 77 },
  {
    type: 'snapshot',
    ...base,
    snapshot: { index: 100, term: 6, membership: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] }, data: bytes(9, 9) }
  },
  { type: 'timeoutNow', ...base }
]

const reasonOf = (input: Uint8Array, maxBytes?: number): string => {
  try {
    decodeMessage(input, maxBytes === undefined ? {} : { maxBytes })
  } catch (err) {
    expect(err).toBeInstanceOf(MalformedMessageError)
    return (err as MalformedMessageError).reason
  }
  throw new Error('decoded without error')
}

describe('wire codec', () => {
  it.each(samples.map((m) => [m.type, m] as const))('round-trips %s', (_, m) => {
    expect(decodeMessage(encodeMessage(m))).toEqual(m)
  })

  it('is compact: a heartbeat between short ids is a dozen bytes', () => {
    expect(encodeMessage({ type: 'heartbeat', from: 'n1', to: 'n2', term: 3, commit: 100 }).length).toBeLessThanOrEqual(12)
  })

  it('rejects every truncation of every message', () => {
    for (const m of samples) {
      const full = encodeMessage(m)
      for (let n = 0; n < full.length; n++) expect(() => decodeMessage(full.subarray(0, n))).toThrow(MalformedMessageError)
    }
  })

  it.each([
    ['an empty input', bytes(), /truncated: version/],
    ['another version', bytes(2, 7), /unsupported codec version 2/],
    ['an unknown type', bytes(1, 99), /unknown message type 99/],
    ['term zero', bytes(1, 8, 1, 0x61, 1, 0x62, 0), /term must be at least 1/],
    ['an empty node id', bytes(1, 8, 0, 1, 0x62, 1), /sender id is empty/],
    ['an invalid UTF-8 id', bytes(1, 8, 1, 0xff, 1, 0x62, 1), /not valid UTF-8/],
    ['a bad boolean', bytes(1, 4, 1, 0x61, 1, 0x62, 1, 2), /reject flag must be 0 or 1/],
    ['trailing bytes', bytes(1, 8, 1, 0x61, 1, 0x62, 1, 0), /1 unexpected trailing byte/],
    ['a varint past 2^53', bytes(1, 8, 1, 0x61, 1, 0x62, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1), /larger than 2\^53/],
    ['an impossible entry count', bytes(1, 5, 1, 0x61, 1, 0x62, 1, 0, 0, 0, 0xff, 0xff, 0x03), /entry count is 65535/],
    ['an entry of a later term than the message', bytes(1, 5, 1, 0x61, 1, 0x62, 1, 0, 0, 0, 1, 5, 0, 0), /outside \[0, 1\]/],
    ['an unknown entry kind', bytes(1, 5, 1, 0x61, 1, 0x62, 1, 0, 0, 0, 1, 1, 9, 0), /unknown entry kind 9/]
  ])('rejects %s with a reason', (_, input, reason) => {
    expect(reasonOf(input)).toMatch(reason)
  })

  it('rejects an oversized input before parsing it', () => {
    expect(reasonOf(new Uint8Array(100), 64)).toBe('message is 100 bytes (at most 64)')
  })

  it('rejects a node id longer than 256 bytes', () => {
    const m = encodeMessage({ type: 'heartbeatResp', from: 'x'.repeat(300), to: 'n2', term: 1 })
    expect(reasonOf(m)).toMatch(/sender id is 300 bytes long/)
  })

  it('never throws anything but MalformedMessageError on random or mutated input', () => {
    const rng = new SeededRandom(42)
    const encoded = samples.map(encodeMessage)
    for (let i = 0; i < 5000; i++) {
      let input: Uint8Array
      if (i % 2 === 0) {
        input = Uint8Array.from({ length: rng.int(40) }, () => rng.int(256))
      } else {
        input = Uint8Array.from(rng.pick(encoded))
        for (let k = 0; k <= rng.int(3); k++) input[rng.int(input.length)] = rng.int(256)
      }
      try {
        decodeMessage(input)
      } catch (err) {
        expect(err).toBeInstanceOf(MalformedMessageError)
      }
    }
  })

  it('round-trips entries, hard state, snapshots and membership changes for the driver’s store', () => {
    const e = { index: 9, term: 3, kind: 'normal' as const, data: bytes(7) }
    expect(decodeEntry(encodeEntry(e))).toEqual(e)
    for (const h of [{ term: 4, vote: peer, commit: 9 }, { term: 4, vote: null, commit: 0 }]) expect(decodeHardState(encodeHardState(h))).toEqual(h)
    const s = { index: 5, term: 2, membership: { voters: ['a'], learners: [] }, data: bytes(1) }
    expect(decodeSnapshot(encodeSnapshot(s))).toEqual(s)
    expect(decodeMembershipChange(encodeMembershipChange({ kind: 'remove', node: 'n3' }))).toEqual({ kind: 'remove', node: 'n3' })
    expect(() => decodeMembershipChange(bytes(7, 1, 0x61))).toThrow(/unknown membership change kind 7/)
  })
})
