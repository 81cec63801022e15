// The zone every node derives from the replicated state and the dns.* settings (issue 11 item 5).
import { describe, expect, it } from 'vitest'
import { dnsSettingsGroup } from '../../src/config/schemas/pryv-io.js'
import { compileZone } from '../../src/dns/index.js'
import { dnsSettings, zoneFromState } from '../../src/node/zone.js'
import { emptyState, type Member, type PlatformState } from '../../src/state/types.js'
import { answerDirect } from '../dns/helpers.js'

const member = (n: number, role: Member['role'] = 'full'): Member => ({
  peerId: `peer${n}`,
  name: `core${n}`,
  role,
  addresses: [`/ip4/192.0.2.${n}/tcp/7400`],
  joinedAt: 0
})

function state(): PlatformState {
  const s = emptyState()
  for (const m of [member(1), member(2), member(3), member(4, 'observer')]) s.members.set(m.peerId, m)
  s.dnsUsers.set('alice', 'core2')
  s.zoneRevision = 42
  return s
}

function zone(values: Record<string, unknown> = {}) {
  const spec = zoneFromState('pryv.test', state(), member(1), (m) => m.addresses, dnsSettings(values), [{ name: 'reg', service: 'register' }])
  return compileZone(spec)
}

const addresses = (d: ReturnType<typeof answerDirect>): string[] => d.answers.map((r) => r.address ?? r.domain).sort()

describe('zone from state', () => {
  it('weighted names take dns.weightedTtl, not dns.ttl', () => {
    const z = zone({ 'dns.ttl': 3600, 'dns.weightedTtl': 7 })
    expect(answerDirect(z, 'reg.pryv.test', 1).answers[0].ttl).toBe(7)
    expect(answerDirect(z, 'core1.pryv.test', 1).answers[0].ttl).toBe(3600)
    expect(answerDirect(zone({ 'dns.ttl': 3600 }), 'reg.pryv.test', 1).answers[0].ttl).toBe(30)
  })

  it('the bare domain names every full member until one is found dead, then the others at once', () => {
    const z = zone()
    expect(addresses(answerDirect(z, 'pryv.test', 1))).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3'])
    z.setTargetHealth('peer3', false)
    expect(addresses(answerDirect(z, 'pryv.test', 1))).toEqual(['192.0.2.1', '192.0.2.2'])
    z.setTargetHealth('peer3', null)
    expect(addresses(answerDirect(z, 'pryv.test', 1))).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3'])
    // dns.rootA replaces them, as static records.
    const fixed = zone({ 'dns.rootA': ['203.0.113.1'] })
    fixed.setTargetHealth('peer1', false)
    expect(addresses(answerDirect(fixed, 'pryv.test', 1))).toEqual(['203.0.113.1'])
  })

  it('an empty dns.nameServers serves every full member by its own name, as the setting says', () => {
    expect(dnsSettingsGroup.settings.nameServers!.description).toContain('<node>.<domain>')
    const z = zone()
    const ns = answerDirect(z, 'pryv.test', 2)
    expect(ns.answers.map((r) => r.ns).sort()).toEqual(['core1.pryv.test', 'core2.pryv.test', 'core3.pryv.test'])
    expect(ns.additionals.map((r) => `${r.name} ${r.address}`).sort()).toEqual(['core1.pryv.test 192.0.2.1', 'core2.pryv.test 192.0.2.2', 'core3.pryv.test 192.0.2.3'])
    expect(answerDirect(z, 'dns1.pryv.test', 1).rcode).toBe(3)
  })

  it('serves dns.aliasDomains like the main domain: names, apex, users (pointing at the cores under the main domain)', () => {
    const z = zone({ 'dns.aliasDomains': ['pryv.legacy', 'old.example'], 'dns.mx': [{ name: 'mail.pryv.test', ip: '192.0.2.25', priority: 10 }] })
    for (const d of ['pryv.legacy', 'old.example']) {
      const reg = answerDirect(z, `reg.${d}`, 1)
      expect([reg.rcode, reg.aa, reg.an]).toEqual([0, true, 1])
      expect(addresses(answerDirect(z, `core2.${d}`, 1))).toEqual(['192.0.2.2'])
      expect(addresses(answerDirect(z, d, 1))).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3'])
      expect(addresses(answerDirect(z, `mail.${d}`, 1))).toEqual(['192.0.2.25'])
      expect(answerDirect(z, d, 6).answers[0].serial).toBe(42)
      expect(answerDirect(z, `alice.${d}`, 1).answers.map((r) => r.domain)).toEqual(['core2.pryv.test'])
      expect(answerDirect(z, `nobody.${d}`, 1).rcode).toBe(3)
    }
    // A user set in place is served under the aliases at once; health too.
    z.setUser('bob', 'core3')
    expect(answerDirect(z, 'bob.pryv.legacy', 1).answers.map((r) => r.domain)).toEqual(['core3.pryv.test'])
    z.setTargetHealth('peer1', false)
    expect(addresses(answerDirect(z, 'old.example', 1))).toEqual(['192.0.2.2', '192.0.2.3'])
    expect(answerDirect(z, 'example.org', 1).rcode).toBe(5)
    expect(answerDirect(z, 'xpryv.legacy', 1).rcode).toBe(5)
  })
})
