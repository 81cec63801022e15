import { describe, expect, it } from 'vitest'
import { meshNeighbours, OBSERVER_NEIGHBOURS } from '../../src/node/membership.js'
import type { Member } from '../../src/state/types.js'

const member = (peerId: string, role: 'full' | 'observer'): Member => ({ peerId, name: peerId, role, addresses: [], joinedAt: 0 })
const members = [
  ...['f1', 'f2', 'f3'].map((id) => member(id, 'full')),
  ...Array.from({ length: 40 }, (_, i) => member(`o${i}`, 'observer'))
]

describe('whom a node keeps connections to', () => {
  it('a full member: every other member', () => {
    expect(meshNeighbours('f1', members)).toHaveLength(members.length - 1)
  })

  it('an observer: every full member and a few observers, the same choice every time', () => {
    const chosen = meshNeighbours('o7', members)
    expect(chosen.filter((m) => m.role === 'full').map((m) => m.peerId)).toEqual(['f1', 'f2', 'f3'])
    expect(chosen.filter((m) => m.role === 'observer')).toHaveLength(OBSERVER_NEIGHBOURS)
    expect(chosen.map((m) => m.peerId)).not.toContain('o7')
    expect(meshNeighbours('o7', [...members].reverse()).map((m) => m.peerId).sort()).toEqual(chosen.map((m) => m.peerId).sort())
  })

  it('links the observers to each other even without the full members (gossip survives their loss)', () => {
    const observers = members.filter((m) => m.role === 'observer')
    const observerLinks = (id: string): string[] => meshNeighbours(id, members).filter((m) => m.role === 'observer').map((m) => m.peerId)
    const seen = new Set(['o0'])
    const queue = ['o0']
    while (queue.length > 0) {
      const id = queue.shift()!
      const links = new Set(observerLinks(id))
      // Links are two-way once dialled: also count who chose this node.
      for (const m of observers) if (observerLinks(m.peerId).includes(id)) links.add(m.peerId)
      for (const l of links) if (!seen.has(l)) { seen.add(l); queue.push(l) }
    }
    expect(seen.size).toBe(observers.length)
  })
})
