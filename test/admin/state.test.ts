import { describe, expect, it } from 'vitest'
import { hashPassword, verifyPassword } from '../../src/admin/secrets.js'
import { ABSOLUTE_MS, csrfMatches, csrfToken, decodeSession, encodeSession, IDLE_MS, newSession, sessionKey } from '../../src/admin/sessions.js'
import { FailureLimiter } from '../../src/admin/rate-limit.js'
import { AUDIT_KEPT, recordAudit } from '../../src/state/admin.js'
import { parseCommand, type StampedCommand } from '../../src/state/commands.js'
import { applyCommand } from '../../src/state/machine.js'
import { emptyState, type PlatformState } from '../../src/state/types.js'

const founder = { peerId: 'A', name: 'core1', role: 'full' as const, addresses: [] }
const HASH = 'a'.repeat(64)

function platform(): PlatformState {
  const s = emptyState()
  applyCommand(s, { kind: 'platform.create', id: 'p', domain: 'pryv.test', founder, at: 0, author: 'A' })
  return s
}

function apply(s: PlatformState, cmd: StampedCommand) {
  const out = applyCommand(s, parseCommand(cmd))
  s.revision += 1
  return out
}

describe('admin commands in the state machine', () => {
  it('uses a login link once, before it expires, and creates its account as an owner without a password', () => {
    const s = platform()
    apply(s, { kind: 'admin.link.create', id: 'link00001', secretHash: HASH, account: 'alice', expiresAt: 100, at: 1, author: 'A' })
    expect(apply(s, { kind: 'admin.link.use', id: 'link00001', at: 5, author: 'A' }).result).toMatchObject({ ok: true, value: { account: 'alice', role: 'owner' } })
    expect(s.adminAccounts.get('alice')).toMatchObject({ role: 'owner', sessionEpoch: 0 })
    expect(s.adminAccounts.get('alice')?.passwordHash).toBeUndefined()
    expect(apply(s, { kind: 'admin.link.use', id: 'link00001', at: 6, author: 'A' }).result).toMatchObject({ ok: false, code: 'PRYV_ADMIN_LINK_INVALID' })
    apply(s, { kind: 'admin.link.create', id: 'link00002', secretHash: HASH, account: 'bob', expiresAt: 100, at: 7, author: 'A' })
    // Expiry is judged by the entry's time, never a clock.
    expect(apply(s, { kind: 'admin.link.use', id: 'link00002', at: 100, author: 'A' }).result).toMatchObject({ ok: false, code: 'PRYV_ADMIN_LINK_INVALID' })
    expect(s.adminAccounts.has('bob')).toBe(false)
  })

  it('ends sessions by bumping the epoch on logout and on a password change, not on a role change', () => {
    const s = platform()
    apply(s, { kind: 'admin.account.set', name: 'alice', role: 'owner', passwordHash: `scrypt$${HASH}`, at: 1, author: 'A' })
    apply(s, { kind: 'admin.account.set', name: 'bob', role: 'viewer', at: 1, author: 'A' })
    apply(s, { kind: 'admin.account.set', name: 'bob', role: 'operator', at: 2, author: 'A' })
    expect(s.adminAccounts.get('bob')).toMatchObject({ role: 'operator', sessionEpoch: 0 })
    apply(s, { kind: 'admin.account.set', name: 'bob', passwordHash: `scrypt$${HASH}`, at: 3, author: 'A' })
    expect(s.adminAccounts.get('bob')?.sessionEpoch).toBe(1)
    apply(s, { kind: 'admin.sessions.end', name: 'bob', at: 4, author: 'A' })
    expect(s.adminAccounts.get('bob')).toMatchObject({ role: 'operator', sessionEpoch: 2 })
  })

  it('keeps at least one owner', () => {
    const s = platform()
    apply(s, { kind: 'admin.account.set', name: 'alice', role: 'owner', at: 1, author: 'A' })
    expect(apply(s, { kind: 'admin.account.remove', name: 'alice', at: 2, author: 'A' }).result).toMatchObject({ ok: false, code: 'PRYV_ADMIN_LAST_OWNER' })
    expect(apply(s, { kind: 'admin.account.set', name: 'alice', role: 'viewer', at: 2, author: 'A' }).result).toMatchObject({ ok: false, code: 'PRYV_ADMIN_LAST_OWNER' })
    apply(s, { kind: 'admin.account.set', name: 'bob', role: 'owner', at: 3, author: 'A' })
    expect(apply(s, { kind: 'admin.account.remove', name: 'alice', at: 4, author: 'A' }).result).toMatchObject({ ok: true })
  })

  it('refuses malformed admin commands from the log', () => {
    expect(() => parseCommand({ kind: 'admin.account.set', name: 'Not A Name', role: 'owner', at: 1, author: 'A' })).toThrow(/account name/)
    expect(() => parseCommand({ kind: 'admin.account.set', name: 'x', role: 'root', at: 1, author: 'A' })).toThrow(/role/)
    expect(() => parseCommand({ kind: 'status', at: 1, author: 'A', actor: 'x'.repeat(200) })).toThrow(/actor/)
  })

  it('records who made each change and keeps only the last records', () => {
    const s = platform()
    const cmd = { kind: 'admin.token.create', id: 'tok000001', label: 'ci', role: 'viewer', secretHash: HASH, expiresAt: 10, at: 1, author: 'A', actor: 'admin:alice' } as StampedCommand
    apply(s, cmd)
    expect(recordAudit(s, cmd as never, true)).toHaveLength(1)
    expect([...s.audit.values()][0]).toMatchObject({ actor: 'admin:alice', node: 'core1', kind: 'admin.token.create', summary: 'API token tok000001 (viewer)' })
    expect(recordAudit(s, { kind: 'read.barrier', at: 1, author: 'A' }, true)).toEqual([])
    expect(recordAudit(s, cmd as never, false)).toEqual([])
    for (let i = 0; i < AUDIT_KEPT + 5; i++) {
      recordAudit(s, { kind: 'dns.users.remove', usernames: ['u'], at: i, author: 'A' }, true)
      s.revision += 1
    }
    expect(s.audit.size).toBe(AUDIT_KEPT)
  })
})

describe('admin secrets and sessions', () => {
  it('hashes passwords with scrypt and checks them', async () => {
    const hash = await hashPassword('correct horse battery staple')
    expect(hash).toMatch(/^scrypt\$32768\$8\$1\$/)
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true)
    expect(await verifyPassword('correct horse battery stapler', hash)).toBe(false)
  })

  it('accepts only untampered sessions within their idle and absolute lifetimes', () => {
    const key = sessionKey('11'.repeat(32))
    const s = newSession('alice', 3, 1_000_000)
    const cookie = encodeSession(key, s)
    expect(decodeSession(key, cookie, 1_000_000 + 1000)).toEqual(s)
    expect(decodeSession(sessionKey('22'.repeat(32)), cookie, 1_000_000)).toBeUndefined()
    const [body, sig] = cookie.split('.')
    const forged = Buffer.from(JSON.stringify(['mallory', 3, s.sid, s.issuedAt, s.lastSeen])).toString('base64url')
    expect(decodeSession(key, `${forged}.${sig}`, 1_000_000)).toBeUndefined()
    expect(decodeSession(key, `${body}.${sig}x`, 1_000_000)).toBeUndefined()
    expect(decodeSession(key, cookie, 1_000_000 + IDLE_MS + 1)).toBeUndefined()
    const active = encodeSession(key, { ...s, lastSeen: 1_000_000 + ABSOLUTE_MS })
    expect(decodeSession(key, active, 1_000_000 + ABSOLUTE_MS + 1)).toBeUndefined()
    expect(csrfMatches(key, s.sid, csrfToken(key, s.sid))).toBe(true)
    expect(csrfMatches(key, s.sid, csrfToken(key, 'other'))).toBe(false)
    expect(csrfMatches(key, s.sid, undefined)).toBe(false)
  })

  it('limits failures per key over a sliding window', () => {
    const limiter = new FailureLimiter(3, 1000)
    for (let i = 0; i < 3; i++) limiter.fail('k', i)
    expect(limiter.retryAfter('k', 10)).toBe(990)
    expect(limiter.retryAfter('other', 10)).toBe(0)
    expect(limiter.retryAfter('k', 1000)).toBe(0)
  })
})
