import { describe, expect, it } from 'vitest'
import { decodeInvite, encodeInvite, hashInviteToken, type Invite, newInviteSecret, tokenMatches } from '../../src/membership/invite.js'

const invite: Invite = {
  platformId: 'abc',
  domain: 'pryv.test',
  addresses: ['/ip4/127.0.0.1/tcp/7400/p2p/12D3KooWDE92ayjEFfEX2JxXBG3pjyY2SJzMC5QHNaToKFRKEWER'],
  inviteId: 'i1',
  token: 't'.repeat(43),
  expiresAt: 1_800_000_000_000,
  role: 'observer'
}

describe('invites', () => {
  it('round-trip through one pasteable line', () => {
    const line = encodeInvite(invite)
    expect(line).toMatch(/^pryv2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{8}$/)
    expect(decodeInvite(`  ${line}\n`)).toEqual(invite)
  })

  it('carry no platform key: the token is their only secret', () => {
    const payload = JSON.parse(Buffer.from(encodeInvite(invite).split('.')[1]!, 'base64url').toString('utf8'))
    expect(Object.keys(payload).sort()).toEqual(['a', 'd', 'e', 'i', 'p', 'r', 't'])
  })

  it('refuse an invite of the old format, which carried the platform key, saying so', () => {
    const payload = Buffer.from(JSON.stringify({ p: 'abc', d: 'pryv.test', k: 'a'.repeat(64), a: invite.addresses, i: 'i1', t: 'x', e: 1, r: 'full' })).toString('base64url')
    expect(() => decodeInvite(`pryv1.${payload}.checksum`)).toThrow(expect.objectContaining({ code: 'PRYV_INVITE_OUTDATED', message: expect.stringMatching(/old format/) }))
  })

  it('detect any change to the line', () => {
    const line = encodeInvite(invite)
    const flipped = line.slice(0, 20) + (line[20] === 'A' ? 'B' : 'A') + line.slice(21)
    expect(() => decodeInvite(flipped)).toThrow(/checksum does not match/)
  })

  it.each([
    ['no addresses', { addresses: [] }, /names no member address/],
    ['an address without a peer id', { addresses: ['/ip4/1.2.3.4/tcp/1'] }, /ending in \/p2p/],
    ['an unknown role', { role: 'king' }, /role is neither/]
  ])('refuse %s', (_what, change, message) => {
    expect(() => decodeInvite(encodeInvite({ ...invite, ...change } as Invite))).toThrow(message)
  })

  it('store only a hash of the token, and compare it in constant time', () => {
    const { token, tokenHash } = newInviteSecret()
    expect(tokenHash).toBe(hashInviteToken(token))
    expect(tokenHash).not.toContain(token)
    expect(tokenMatches(token, tokenHash)).toBe(true)
    expect(tokenMatches(`${token}x`, tokenHash)).toBe(false)
  })
})
