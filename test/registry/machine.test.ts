import { describe, expect, it } from 'vitest'
import { parseCommand, type StampedCommand } from '../../src/state/commands.js'
import { applyCommand } from '../../src/state/machine.js'
import type { ImportedUser, RegistryCommand } from '../../src/state/registry.js'
import { emptyState, type PlatformState } from '../../src/state/types.js'

const member = (peerId: string, name: string) => ({ peerId, name, role: 'full' as const, addresses: [] })

/** A platform with members core1 and core2. */
function platform(): PlatformState {
  const s = emptyState()
  applyCommand(s, { kind: 'platform.create', id: 'p', domain: 'pryv.test', founder: member('A', 'core1'), at: 0, author: 'A' })
  applyCommand(s, { kind: 'invite.create', id: 'inv', tokenHash: 'h', role: 'full', expiresAt: 1e12, uses: 1, at: 1, author: 'A' })
  applyCommand(s, { kind: 'member.join', inviteId: 'inv', member: member('B', 'core2'), at: 2, author: 'A' })
  return s
}

let clock = 1000
/** Applies a registry command as every node does, after the shape check a log entry goes through. */
function run(s: PlatformState, cmd: RegistryCommand, at = clock++) {
  const stamped = parseCommand({ ...cmd, at, author: 'A' }) as StampedCommand
  return applyCommand(s, stamped)
}

const create = (username: string, email: string, core = 'core1'): RegistryCommand =>
  ({ kind: 'registry.user.create', username, core, fields: { email, language: 'en' }, unique: ['email'] })

describe('registry commands in the state machine', () => {
  it('creates a user with its unique e-mail, its DNS name and its core\'s count', () => {
    const s = platform()
    expect(run(s, create('alice01', 'a@x.com')).result).toEqual({ ok: true, value: { username: 'alice01', core: 'core1' } })
    expect(s.registryUsers.get('alice01')).toMatchObject({ core: 'core1', fields: { email: 'a@x.com' }, unique: ['email'] })
    expect(s.registryUnique.get('email:a@x.com')).toBe('alice01')
    expect(s.dnsUsers.get('alice01')).toBe('core1')
    expect(s.registryCounts.get('core1')).toBe(1)
  })

  it.each([
    ['a username already registered', create('alice01', 'other@x.com'), { username: 'alice01' }],
    ['an e-mail already registered (case-insensitive)', create('bob0001', 'A@X.com'), { email: 'A@X.com' }]
  ])('refuses %s, says which field, and changes nothing', (_what, cmd, data) => {
    const s = platform()
    run(s, create('alice01', 'a@x.com'))
    const out = run(s, cmd)
    expect(out.result).toEqual({ ok: false, code: 'PRYV_REGISTRY_TAKEN', message: expect.any(String), data })
    expect(out.changes).toEqual([])
    expect(s.registryUsers.size).toBe(1)
    expect(s.registryCounts.get('core1')).toBe(1)
  })

  it.each([
    ['an invalid username', create('ab', 'x@x.com'), 'PRYV_REGISTRY_INVALID_USERNAME'],
    ['a reserved service name', create('access', 'x@x.com'), 'PRYV_REGISTRY_RESERVED'],
    ['a name starting with pryv', create('pryvuser', 'x@x.com'), 'PRYV_REGISTRY_RESERVED'],
    ['a node\'s name', create('core2', 'x@x.com'), 'PRYV_REGISTRY_RESERVED'],
    ['an unknown core', create('carol01', 'c@x.com', 'core9'), 'PRYV_REGISTRY_UNKNOWN_CORE']
  ])('refuses %s', (_what, cmd, code) => {
    const s = platform()
    expect(run(s, cmd).result).toMatchObject({ ok: false, code })
    expect(s.registryUsers.size).toBe(0)
  })

  it('deletes a user, frees its e-mail and its DNS name, and keeps counts right', () => {
    const s = platform()
    run(s, create('alice01', 'a@x.com'))
    expect(run(s, { kind: 'registry.user.delete', username: 'alice01' }).result).toMatchObject({ ok: true })
    expect(s.dnsUsers.has('alice01')).toBe(false)
    expect(s.registryCounts.has('core1')).toBe(false)
    expect(run(s, create('bob0001', 'a@x.com')).result).toMatchObject({ ok: true })
    expect(run(s, { kind: 'registry.user.delete', username: 'alice01' }).result).toMatchObject({ ok: false, code: 'PRYV_REGISTRY_UNKNOWN_USER' })
  })

  it('updates fields, moving the unique index with them, and refuses a value another user holds', () => {
    const s = platform()
    run(s, create('alice01', 'a@x.com'))
    run(s, create('bob0001', 'b@x.com'))
    expect(run(s, { kind: 'registry.user.update', username: 'alice01', set: { email: 'b@x.com' }, unique: ['email'], unset: [] }).result).toMatchObject({ ok: false, data: { email: 'b@x.com' } })
    expect(run(s, { kind: 'registry.user.update', username: 'alice01', set: { email: 'new@x.com' }, unique: ['email'], unset: ['language'] }).result).toMatchObject({ ok: true })
    expect(s.registryUsers.get('alice01')?.fields).toEqual({ email: 'new@x.com' })
    expect(s.registryUnique.has('email:a@x.com')).toBe(false)
    expect(s.registryUnique.get('email:new@x.com')).toBe('alice01')
    expect(s.registryCounts.get('core1')).toBe(2)
  })

  it('holds /users/validate reservations for one core until they expire or the user is created', () => {
    const s = platform()
    const reserve = (core: string, at: number) => run(s, { kind: 'registry.reserve', core, fields: { username: 'alice01', email: 'a@x.com' }, expiresAt: at + 600_000 }, at)
    expect(reserve('core1', 10_000).result).toMatchObject({ ok: true })
    expect(reserve('core1', 20_000).result).toMatchObject({ ok: true })
    expect(reserve('core2', 30_000).result).toMatchObject({ ok: false, code: 'PRYV_REGISTRY_TAKEN', data: { username: 'alice01', email: 'a@x.com' } })
    // By the entry's time, not a clock: 10 minutes after the last reservation, another core may reserve.
    expect(reserve('core2', 20_000 + 600_000).result).toMatchObject({ ok: true })
    run(s, create('alice01', 'a@x.com', 'core2'), 700_000)
    expect(s.registryReservations.size).toBe(0)
  })

  it('moves the users of a core on rename, and keeps registry users in step with `dns users set`', () => {
    const s = platform()
    run(s, create('alice01', 'a@x.com'))
    run(s, create('bob0001', 'b@x.com'))
    expect(run(s, { kind: 'registry.server.rename', from: 'core1', to: 'core2' }).result).toMatchObject({ ok: true, value: { count: 2 } })
    expect(s.dnsUsers.get('alice01')).toBe('core2')
    expect(Object.fromEntries(s.registryCounts)).toEqual({ core2: 2 })
    applyCommand(s, { kind: 'dns.users.set', users: { alice01: 'core1' }, at: clock++, author: 'A' })
    expect(s.registryUsers.get('alice01')?.core).toBe('core1')
    expect(Object.fromEntries(s.registryCounts)).toEqual({ core1: 1, core2: 1 })
  })

  it('ends an access request once ACCEPTED, REFUSED or ERROR, and forgets it after its TTL', () => {
    const s = platform()
    const set = (create: boolean, status: string, at: number) => run(s, { kind: 'registry.access.set', key: 'KEY0123456789', create, state: { status }, expiresAt: 5000 }, at)
    expect(set(true, 'NEED_SIGNIN', 1000).result).toMatchObject({ ok: true })
    expect(set(true, 'NEED_SIGNIN', 1001).result).toMatchObject({ ok: false, code: 'PRYV_REGISTRY_ACCESS_EXISTS' })
    expect(set(false, 'ACCEPTED', 1002).result).toMatchObject({ ok: true })
    expect(set(false, 'REFUSED', 1003).result).toMatchObject({ ok: false, code: 'PRYV_REGISTRY_ACCESS_ENDED' })
    expect(set(false, 'ACCEPTED', 5000).result).toMatchObject({ ok: false, code: 'PRYV_REGISTRY_ACCESS_UNKNOWN' })
    expect(set(true, 'NEED_SIGNIN', 5001).result).toMatchObject({ ok: true })
  })

  it('consumes an invitation once', () => {
    const s = platform()
    run(s, { kind: 'registry.invitations.create', invitations: [{ id: 'tok01', description: 'beta' }] })
    expect(run(s, { ...create('alice01', 'a@x.com'), invitation: 'tok01' } as RegistryCommand).result).toMatchObject({ ok: true })
    expect(s.registryInvitations.get('tok01')).toMatchObject({ consumedBy: 'alice01' })
    expect(run(s, { ...create('bob0001', 'b@x.com'), invitation: 'tok01' } as RegistryCommand).result).toMatchObject({ ok: false, code: 'PRYV_REGISTRY_INVITATION' })
  })

  it('imports idempotently: the same users again change nothing, conflicting ones are refused one by one', () => {
    const s = platform()
    const users: ImportedUser[] = [
      { username: 'alice01', core: 'core1', fields: { email: 'a@x.com' }, unique: ['email'] },
      { username: 'bob0001', core: 'core2', fields: { email: 'b@x.com' }, unique: ['email'] },
      { username: 'carol01', core: 'co9', fields: {}, unique: [] },
      { username: 'dave001', core: 'core1', fields: { email: 'a@x.com' }, unique: ['email'] }
    ]
    const first = run(s, { kind: 'registry.import', users })
    expect(first.result).toMatchObject({ ok: true, value: { imported: 2, unchanged: 0, refused: [{ username: 'carol01' }, { username: 'dave001' }] } })
    const again = run(s, { kind: 'registry.import', users: users.slice(0, 2) })
    expect(again.result).toMatchObject({ ok: true, value: { imported: 0, unchanged: 2, refused: [] } })
    expect(again.changes).toEqual([])
    expect(Object.fromEntries(s.registryCounts)).toEqual({ core1: 1, core2: 1 })
  })

  it('refuses malformed registry commands before they reach the log', () => {
    expect(() => parseCommand({ kind: 'registry.user.create', username: 'alice01', core: 'core1', fields: { email: { nested: true } }, unique: [], at: 1, author: 'A' })).toThrow(/fields/)
    expect(() => parseCommand({ kind: 'registry.nope', at: 1, author: 'A' })).toThrow(/unknown command kind/)
  })
})
