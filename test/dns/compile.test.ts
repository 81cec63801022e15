// compileZone(): validation, the Pryv.io DNS_CUSTOM_ENTRIES adapter, users at scale, ACME expiry.
import { describe, expect, it } from 'vitest'
import {
  compileZone,
  type PryvCustomEntries,
  pryvCustomEntriesToRecords,
  type StaticRecord,
  ZoneSpecError,
  type ZoneSpec
} from '../../src/dns/index.js'
import { answerDirect, exampleSpec } from './helpers.js'

const base = (over: Partial<ZoneSpec>): ZoneSpec => ({ domain: 'example.test', serial: 1, nameServers: [{ name: 'n1', addresses: ['192.0.2.1'] }], ...over })
const rec = (...records: StaticRecord[]): Partial<ZoneSpec> => ({ records })

describe('compileZone validation', () => {
  it.each<[string, Partial<ZoneSpec>, RegExp]>([
    ['RFC 1034 §3.6.2: CNAME and other data', rec({ name: 'a', type: 'CNAME', target: 'b' }, { name: 'a', type: 'TXT', text: 'x' }), /CNAME and other data/],
    ['two CNAMEs at one name', rec({ name: 'a', type: 'CNAME', target: 'b' }, { name: 'a', type: 'CNAME', target: 'c' }), /CNAME/],
    ['record outside the zone', rec({ name: 'www.example.org.', type: 'A', address: '192.0.2.1' }), /outside the zone/],
    ['serial beyond uint32', { serial: 2 ** 32 }, /serial/],
    ['invalid address', rec({ name: 'a', type: 'A', address: '300.1.1.1' }), /invalid IP/],
    ['A record with an IPv6 address', rec({ name: 'a', type: 'A', address: '2001:db8::1' }), /other family/],
    ['label longer than 63', rec({ name: 'x'.repeat(64), type: 'A', address: '192.0.2.1' }), /bad label/],
    ['empty label', rec({ name: 'a..b', type: 'A', address: '192.0.2.1' }), /bad label/],
    ['no name server', { nameServers: [] }, /name server/],
    ['negative TTL', { ttl: { A: -1 } }, /ttl\.A/],
    ['weighted name with static A', { ...rec({ name: 'reg', type: 'A', address: '192.0.2.1' }), weighted: [{ name: 'reg', targets: [] }] }, /weighted and also/],
    ['negative weight', { weighted: [{ name: 'reg', targets: [{ id: 'a', addresses: [], weight: -1, healthy: true }] }] }, /weight/],
    ['subset size 0', { weighted: [{ name: 'reg', subsetSize: 0, targets: [] }] }, /subset size/]
  ])('rejects %s', (_what, over, message) => {
    expect(() => compileZone(base(over))).toThrow(ZoneSpecError)
    expect(() => compileZone(base(over))).toThrow(message)
  })

  it('normalises case and accepts absolute names', () => {
    const zone = compileZone(base({ domain: 'Example.TEST.', records: [{ name: 'WWW.example.test.', type: 'A', address: '192.0.2.7' }] }))
    expect(answerDirect(zone, 'www.example.test', 1).answers[0].address).toBe('192.0.2.7')
  })

  it('merges duplicate records into one RRset with the lowest TTL (RFC 2181 §5)', () => {
    const zone = compileZone(base(rec({ name: 'a', type: 'A', address: '192.0.2.1', ttl: 100 }, { name: 'a', type: 'A', address: '192.0.2.1', ttl: 50 }, { name: 'a', type: 'A', address: '192.0.2.2' })))
    expect(answerDirect(zone, 'a.example.test', 1).answers.map((r: any) => [r.address, r.ttl])).toEqual([
      ['192.0.2.1', 50],
      ['192.0.2.2', 50]
    ])
  })
})

describe('Pryv.io DNS_CUSTOM_ENTRIES adapter', () => {
  const entries: PryvCustomEntries = {
    sw: { ip: ['192.0.2.40', '192.0.2.41'] },
    access: { alias: [{ name: 'reg.example.test' }] },
    mfa: { alias: { name: 'app.example.test', ip: '192.0.2.42' } },
    _dmarc: { description: ['v=DMARC1; p=none', 'second'] },
    'foo.bar': { description: 'old single-string form' },
    mail: { mail: [{ name: 'mx1.example.test', ip: '192.0.2.25', priority: 10, ttl: 600 }] },
    sub: { nameserver: [{ name: 'ns.sub.example.test', ip: '192.0.2.53' }] },
    caa: { certificate_authority_authorization: { issuer: 'letsencrypt.org' } },
    self: { alias: { name: 'www.{name}' } }
  }
  const zone = compileZone(exampleSpec({ records: pryvCustomEntriesToRecords(entries, 'example.test') }))

  it.each<[string, number, (d: any) => void]>([
    ['sw.example.test', 1, (d) => expect(d.answers.map((r: any) => r.address)).toEqual(['192.0.2.40', '192.0.2.41'])],
    ['access.example.test', 1, (d) => expect(d.answers.map((r: any) => r.type)).toEqual([5, 1])],
    ['mfa.example.test', 1, (d) => expect(d.answers.map((r: any) => r.domain ?? r.address)).toEqual(['app.example.test', '192.0.2.42'])],
    ['_dmarc.example.test', 16, (d) => expect(d.answers.map((r: any) => r.data)).toEqual([['v=DMARC1; p=none'], ['second']])],
    ['foo.bar.example.test', 16, (d) => expect(d.answers[0].data).toEqual(['old single-string form'])],
    ['mail.example.test', 15, (d) => {
      expect(d.answers[0]).toMatchObject({ exchange: 'mx1.example.test', priority: 10, ttl: 600 })
      expect(d.additionals[0].address).toBe('192.0.2.25')
    }],
    ['sub.example.test', 2, (d) => expect(d.additionals[0]).toMatchObject({ name: 'ns.sub.example.test', address: '192.0.2.53' })],
    ['caa.example.test', 257, (d) => expect(d.answers[0]).toMatchObject({ tag: 'issue', value: 'letsencrypt.org' })],
    ['self.example.test', 5, (d) => expect(d.answers[0].domain).toBe('www.self.example.test')]
  ])('%s type %i', (name, type, check) => {
    const d = answerDirect(zone, name, type)
    expect(d.rcode).toBe(0)
    check(d)
  })
})

describe('users', () => {
  it('100,000 users compile once; one user is added, moved and removed in place', () => {
    const users = new Map<string, string>()
    for (let i = 0; i < 100_000; i++) users.set(`user${i}`, i % 2 === 0 ? 'co1' : 'co2')
    const zone = compileZone(exampleSpec({ users }))
    expect(zone.users.size).toBe(100_000)
    expect(answerDirect(zone, 'user99999.example.test', 1).answers[1].address).toBe('192.0.2.12')
    const names = zone.names
    zone.setUser('User99999', 'co1')
    zone.setUser('newcomer', 'co2')
    zone.setUser('user0', null)
    // Same compiled maps: nothing was recompiled.
    expect(zone.names).toBe(names)
    expect(answerDirect(zone, 'user99999.example.test', 1).answers[1].address).toBe('192.0.2.11')
    expect(answerDirect(zone, 'newcomer.example.test', 1).answers[0].domain).toBe('co2.example.test')
    expect(answerDirect(zone, 'user0.example.test', 1).rcode).toBe(3)
    expect(() => zone.setUser('bad.name', 'co1')).toThrow(ZoneSpecError)
  })

  it('"address" mode answers A/AAAA of the core directly, with the user TTL', () => {
    const zone = compileZone(exampleSpec({ userAnswer: 'address', ttl: { user: 120 } }))
    expect(answerDirect(zone, 'alice.example.test', 1).answers.map((r: any) => [r.name, r.type, r.address, r.ttl])).toEqual([['alice.example.test', 1, '192.0.2.11', 120]])
    expect(answerDirect(zone, 'alice.example.test', 28).answers[0].address).toBe('2001:db8::11')
    const mx = answerDirect(zone, 'alice.example.test', 15)
    expect([mx.rcode, mx.an, mx.authorities[0].type]).toEqual([0, 0, 6])
  })

  it('static names win over users; users win over empty non-terminals; invalid usernames are skipped', () => {
    const zone = compileZone(exampleSpec({ users: { web: 'co1', deep: 'co2', 'not valid': 'co1', alice: 'co1' } }))
    expect(zone.skippedUsers).toBe(1)
    expect(answerDirect(zone, 'web.example.test', 1).answers[0].address).toBe('192.0.2.80')
    expect(answerDirect(zone, 'deep.example.test', 1).answers[0].domain).toBe('co2.example.test')
    expect(answerDirect(zone, 'x.alice.example.test', 1).rcode).toBe(3)
  })
})

describe('ACME challenges', () => {
  const acme = [
    { value: 'old', expiresAtMs: 1_000 },
    { value: 'new', expiresAtMs: 5_000 },
    { name: '_acme-challenge.reg', value: 'reg-token', expiresAtMs: 9_000 }
  ]
  it('expired records are not compiled; the next expiry is reported', () => {
    const early = compileZone(exampleSpec({ acme }), 500)
    expect(answerDirect(early, '_acme-challenge.example.test', 16).answers.map((r: any) => r.data[0]).sort()).toEqual(['new', 'old'])
    expect(early.nextExpiryMs).toBe(1_000)
    const later = compileZone(exampleSpec({ acme }), 6_000)
    expect(answerDirect(later, '_acme-challenge.example.test', 16).rcode).toBe(3)
    expect(answerDirect(later, '_acme-challenge.reg.example.test', 16).answers[0].data).toEqual(['reg-token'])
    expect(later.nextExpiryMs).toBe(9_000)
  })
})
