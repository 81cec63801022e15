import { describe, expect, it } from 'vitest'
import { AddressBook } from '../../src/membership/address-book.js'
import { isDialable, MAX_MEMBER_ADDRESSES, parseAddressFrame } from '../../src/mesh/addresses.js'

describe('the address book', () => {
  it('follows the freshest claim: a member that moved is followed, an older claim relayed late changes nothing', () => {
    const book = new AddressBook()
    expect(book.note('a', ['/ip4/10.0.0.1/tcp/7400'], 100)).toBe(true)
    // Heard again at the same place: nothing to do.
    expect(book.note('a', ['/ip4/10.0.0.1/tcp/7400'], 200)).toBe(false)
    expect(book.note('a', ['/ip4/10.0.0.9/tcp/7400'], 300)).toBe(true)
    // Another member passes on what it heard at 250: older than what this node knows.
    expect(book.note('a', ['/ip4/10.0.0.1/tcp/7400'], 250)).toBe(false)
    expect(book.get('a', 1300)).toEqual({ addresses: ['/ip4/10.0.0.9/tcp/7400'], agoMs: 1000 })
    expect(book.note('a', [], 400)).toBe(false)
    book.forget('a')
    expect(book.get('a', 1300)).toBeUndefined()
  })
})

describe('the address exchange frame', () => {
  const frame = (extra: Record<string, unknown> = {}) => ({ v: 1, self: ['/ip4/127.0.83.1/tcp/7400'], members: [{ peerId: 'p', addresses: ['/dns4/core2.example/tcp/7400'], agoMs: 10 }], ...extra })

  it('takes TCP addresses of an IP or DNS name, with their age', () => {
    expect(parseAddressFrame(frame())).toEqual(frame())
  })

  it('refuses addresses that would send this node elsewhere or that are too many', () => {
    expect(isDialable('/ip4/127.0.0.1/tcp/1/p2p/12D3KooWGFpU3DgbpfmHhpzk3d8GU9pj3N3DRtsjUb74j6w1Pn4M')).toBe(false)
    expect(isDialable('/ip4/127.0.0.1/udp/1')).toBe(false)
    expect(isDialable('/ip4/127.0.0.1/tcp/1/p2p-circuit')).toBe(false)
    expect(isDialable('not a multiaddr')).toBe(false)
    expect(isDialable('/ip6/::1/tcp/7400')).toBe(true)
    expect(parseAddressFrame(frame({ self: ['/ip4/127.0.0.1/udp/1'] }))).toBeUndefined()
    const many = Array.from({ length: MAX_MEMBER_ADDRESSES + 1 }, (_, i) => `/ip4/10.0.0.${i}/tcp/7400`)
    expect(parseAddressFrame(frame({ self: many }))).toBeUndefined()
    expect(parseAddressFrame(frame({ members: [{ peerId: 'p', addresses: [], agoMs: -1 }] }))).toBeUndefined()
    expect(parseAddressFrame(frame({ v: 2 }))).toBeUndefined()
  })
})
