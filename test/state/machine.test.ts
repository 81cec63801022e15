import { describe, expect, it } from 'vitest'
import type { StampedCommand } from '../../src/state/commands.js'
import { applyCommand } from '../../src/state/machine.js'
import { emptyState, type PlatformState } from '../../src/state/types.js'

const founder = { peerId: 'A', name: 'core1', role: 'full' as const, addresses: [] }

function platform(): PlatformState {
  const s = emptyState()
  applyCommand(s, { kind: 'platform.create', id: 'p', domain: 'pryv.test', founder, at: 0, author: 'A' })
  applyCommand(s, { kind: 'invite.create', id: 'inv', tokenHash: 'h', role: 'observer', expiresAt: 100, uses: 1, at: 1, author: 'A' })
  return s
}

const join = (peerId: string, name: string, at = 10): StampedCommand => ({ kind: 'member.join', inviteId: 'inv', member: { peerId, name, role: 'full', addresses: [] }, at, author: 'A' })

describe('applying membership commands', () => {
  it.each([
    ['an unknown invite', { ...join('B', 'b'), inviteId: 'zzz' } as StampedCommand, 'PRYV_INVITE_UNKNOWN'],
    ['an expired invite (by the entry time, not a clock)', join('B', 'b', 100), 'PRYV_INVITE_EXPIRED'],
    ['a taken name', join('B', 'core1'), 'PRYV_NAME_TAKEN'],
    ['a machine that is already a member', join('A', 'again'), 'PRYV_ALREADY_MEMBER']
  ])('refuses %s and changes nothing', (_what, cmd, code) => {
    const s = platform()
    const out = applyCommand(s, cmd)
    expect(out.result).toMatchObject({ ok: false, code })
    expect(out.changes).toEqual([])
    expect(s.members.size).toBe(1)
  })

  it('admits with the invite\'s role, uses the invite up, and answers a retried join the same way', () => {
    const s = platform()
    expect(applyCommand(s, join('B', 'b')).result).toMatchObject({ ok: true, value: { peerId: 'B', role: 'observer' } })
    expect(applyCommand(s, join('B', 'b', 20)).result).toMatchObject({ ok: true, value: { peerId: 'B' } })
    expect(applyCommand(s, join('C', 'c')).result).toMatchObject({ ok: false, code: 'PRYV_INVITE_USED' })
    expect(s.invites.get('inv')?.usedBy).toEqual(['B'])
  })

  it('refuses a revoked invite', () => {
    const s = platform()
    applyCommand(s, { kind: 'invite.revoke', id: 'inv', at: 2, author: 'A' })
    expect(applyCommand(s, join('B', 'b')).result).toMatchObject({ ok: false, code: 'PRYV_INVITE_REVOKED' })
  })
})

describe('removing a member', () => {
  it('drops its machine overrides with it, and refuses to remove the last full member', () => {
    const s = platform()
    applyCommand(s, join('B', 'b'))
    s.machineSettings.set('b', { 'demo.x': 1 })
    expect(applyCommand(s, { kind: 'member.remove', peerId: 'B', at: 20, author: 'A' }).changes).toEqual([{ type: 'member', id: 'B' }, { type: 'machineSettings', id: 'b' }])
    expect(s.machineSettings.has('b')).toBe(false)
    expect(applyCommand(s, { kind: 'member.remove', peerId: 'A', at: 21, author: 'A' }).result).toMatchObject({ ok: false, code: 'PRYV_LAST_FULL_MEMBER' })
  })
})

describe('the DNS zone\'s serial', () => {
  it('follows the entries that change the zone, users included (their answers change), not invites or read barriers', () => {
    const s = emptyState()
    const step = (cmd: StampedCommand): void => {
      applyCommand(s, cmd)
      s.revision++
    }
    step({ kind: 'platform.create', id: 'p', domain: 'pryv.test', founder, at: 0, author: 'A' })
    expect(s.zoneRevision).toBe(1)
    step({ kind: 'invite.create', id: 'inv', tokenHash: 'h', role: 'observer', expiresAt: 100, uses: 1, at: 1, author: 'A' })
    step({ kind: 'read.barrier', at: 2, author: 'A' })
    expect(s.zoneRevision).toBe(1)
    step({ kind: 'dns.users.set', users: { alice: 'core1' }, at: 3, author: 'A' })
    expect(s.zoneRevision).toBe(4)
    step({ kind: 'acme.set', name: '_acme-challenge', value: 'x', expiresAt: 50, at: 4, author: 'A' })
    expect(s.zoneRevision).toBe(5)
    step({ kind: 'dns.users.remove', usernames: ['alice'], at: 5, author: 'A' })
    expect(s.zoneRevision).toBe(6)
  })
})
