import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { hostOf, StrangerLimiter } from '../../src/mesh/stranger-limiter.js'

describe('the stranger limiter', () => {
  const limits = { refusals: 3, windowMs: 1000, blockMs: 5000 }

  it('blocks an address once it was refused too often within the window, for the block time', () => {
    const l = new StrangerLimiter(limits)
    expect(l.refused('10.0.0.1', 0)).toBe(false)
    expect(l.refused('10.0.0.1', 100)).toBe(false)
    expect(l.blocked('10.0.0.1', 150)).toBe(false)
    expect(l.refused('10.0.0.1', 200)).toBe(true)
    expect(l.blocked('10.0.0.1', 5199)).toBe(true)
    expect(l.blocked('10.0.0.2', 300)).toBe(false)
    expect(l.blocked('10.0.0.1', 5200)).toBe(false)
  })

  it('forgets refusals older than the window', () => {
    const l = new StrangerLimiter(limits)
    l.refused('10.0.0.1', 0)
    l.refused('10.0.0.1', 500)
    expect(l.refused('10.0.0.1', 1200)).toBe(false)
    expect(l.blocked('10.0.0.1', 1300)).toBe(false)
  })

  it('keeps a bounded memory however many addresses come', () => {
    const l = new StrangerLimiter({ refusals: 1, windowMs: 1000, blockMs: 1000 })
    for (let i = 0; i < 10_000; i++) l.refused(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 0)
    expect(l.blocked('10.0.39.15', 1)).toBe(true)
    expect(l.blocked('10.0.0.0', 1)).toBe(false)
  })

  it('reads the IP address of a multiaddr', () => {
    expect(hostOf(multiaddr('/ip4/127.23.0.7/tcp/4001'))).toBe('127.23.0.7')
    expect(hostOf(multiaddr('/ip6/::1/tcp/4001'))).toBe('::1')
    expect(hostOf(multiaddr('/dns4/example.com/tcp/4001'))).toBeUndefined()
  })
})
