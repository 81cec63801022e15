import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { type NodeSnapshot, registerNodeMetrics } from '../../src/metrics/collectors.js'
import { declared, helped, sample } from './support.js'

const PEER = { core1: '12D3KooWcore1', core2: '12D3KooWcore2', obs1: '12D3KooWobs1' }

function snapshot(over: Partial<NodeSnapshot> = {}): NodeSnapshot {
  return {
    self: { name: 'core1', peerId: PEER.core1, platformId: 'abcd', domain: 'pryv.test' },
    revision: 42,
    members: [
      { name: 'core1', peerId: PEER.core1, role: 'full', alive: true, revision: 42 },
      { name: 'core2', peerId: PEER.core2, role: 'full', alive: false, revision: 40 },
      { name: 'obs1', peerId: PEER.obs1, role: 'observer', alive: true, revision: null }
    ],
    writerSet: { role: 'leader', term: 7, leader: PEER.core1, commit: 50, applied: 49, voters: [PEER.core1, PEER.core2], learners: [], dropped: { 'stale-term': 3 } },
    replicationDropped: { 'bad-signature': 2 },
    settings: { revision: 41, failures: 1, atMs: 1_700_000_000_000, durationMs: 250 },
    dns: {
      queriesByType: { A: 10, AAAA: 2 },
      responsesByRcode: { NOERROR: 9, NXDOMAIN: 2, REFUSED: 1 },
      weightedAnswers: { 'reg.pryv.test': { [PEER.core1]: 4, [PEER.core2]: 1, 'other-id': 1 } },
      dropped: 5,
      truncated: 1,
      tcpRefused: 2,
      rateLimited: { slipped: { answer: 7, nodata: 0, nxdomain: 1, error: 0 }, dropped: { answer: 8, nodata: 0, nxdomain: 2, error: 0 }, exempted: 3 }
    },
    ...over
  }
}

async function scrape(s: () => NodeSnapshot): Promise<string> {
  const registry = new Registry()
  registerNodeMetrics(registry, s)
  return registry.metrics()
}

describe('node metrics (prom-client collectors over a node snapshot)', () => {
  it('every pryv_ metric has a HELP text, counters end in _total', async () => {
    const text = await scrape(() => snapshot())
    const types = declared(text)
    const help = helped(text)
    expect(types.size).toBeGreaterThan(20)
    for (const [name, type] of types) {
      expect(name).toMatch(/^pryv_(node|dns)_/)
      expect(help.has(name), name).toBe(true)
      expect(type === 'counter', name).toBe(name.endsWith('_total'))
    }
  })

  it('shows the node, its members, the writer set, replication and settings', async () => {
    const text = await scrape(() => snapshot())
    expect(sample(text, 'pryv_node_info', { name: 'core1', peer_id: PEER.core1, platform_id: 'abcd', domain: 'pryv.test' })).toBe(1)
    expect(sample(text, 'pryv_node_state_revision')).toBe(42)
    expect(sample(text, 'pryv_node_members', { role: 'full' })).toBe(2)
    expect(sample(text, 'pryv_node_members', { role: 'observer' })).toBe(1)
    expect(sample(text, 'pryv_node_members_alive', { role: 'full' })).toBe(1)
    expect(sample(text, 'pryv_node_member_alive', { member: 'core2' })).toBe(0)
    expect(sample(text, 'pryv_node_member_revision', { member: 'core2' })).toBe(40)
    expect(sample(text, 'pryv_node_member_revision', { member: 'obs1' })).toBeUndefined()
    expect(sample(text, 'pryv_node_writer_set_role', { role: 'leader' })).toBe(1)
    expect(sample(text, 'pryv_node_writer_set_role', { role: 'follower' })).toBe(0)
    expect(sample(text, 'pryv_node_writer_set_role', { role: 'none' })).toBe(0)
    expect(sample(text, 'pryv_node_writer_set_term')).toBe(7)
    expect(sample(text, 'pryv_node_writer_set_leader', { member: 'core1' })).toBe(1)
    expect(sample(text, 'pryv_node_writer_set_commit_index')).toBe(50)
    expect(sample(text, 'pryv_node_writer_set_applied_index')).toBe(49)
    expect(sample(text, 'pryv_node_writer_set_voters')).toBe(2)
    expect(sample(text, 'pryv_node_writer_set_voter')).toBe(1)
    expect(sample(text, 'pryv_node_writer_set_dropped_total', { reason: 'stale-term' })).toBe(3)
    expect(sample(text, 'pryv_node_replication_dropped_total', { reason: 'bad-signature' })).toBe(2)
    expect(sample(text, 'pryv_node_settings_rendered_revision')).toBe(41)
    expect(sample(text, 'pryv_node_settings_render_failures')).toBe(1)
    expect(sample(text, 'pryv_node_settings_last_render_timestamp_seconds')).toBe(1_700_000_000)
    expect(sample(text, 'pryv_node_settings_last_render_duration_seconds')).toBe(0.25)
  })

  it('exports the DNS counters, weighted targets by member name', async () => {
    const text = await scrape(() => snapshot())
    expect(sample(text, 'pryv_dns_up')).toBe(1)
    expect(sample(text, 'pryv_dns_queries_total', { qtype: 'A' })).toBe(10)
    expect(sample(text, 'pryv_dns_queries_total', { qtype: 'AAAA' })).toBe(2)
    expect(sample(text, 'pryv_dns_responses_total', { rcode: 'NXDOMAIN' })).toBe(2)
    expect(sample(text, 'pryv_dns_weighted_answers_total', { name: 'reg.pryv.test', target: 'core1' })).toBe(4)
    expect(sample(text, 'pryv_dns_weighted_answers_total', { name: 'reg.pryv.test', target: 'other-id' })).toBe(1)
    expect(sample(text, 'pryv_dns_dropped_total')).toBe(5)
    expect(sample(text, 'pryv_dns_truncated_total')).toBe(1)
    expect(sample(text, 'pryv_dns_rate_limited_total', { kind: 'answer', action: 'slip' })).toBe(7)
    expect(sample(text, 'pryv_dns_rate_limited_total', { kind: 'nxdomain', action: 'drop' })).toBe(2)
    expect(sample(text, 'pryv_dns_rate_limited_total', { kind: 'error', action: 'drop' })).toBe(0)
    expect(sample(text, 'pryv_dns_rate_limit_exempted_total')).toBe(3)
    expect(sample(text, 'pryv_dns_tcp_refused_total')).toBe(2)
  })

  it('an observer without DNS: role none, writer-set figures and DNS counters 0', async () => {
    const text = await scrape(() => snapshot({ writerSet: null, dns: null, settings: null }))
    expect(sample(text, 'pryv_node_writer_set_role', { role: 'none' })).toBe(1)
    expect(sample(text, 'pryv_node_writer_set_term')).toBe(0)
    expect(sample(text, 'pryv_node_writer_set_leader', { member: 'core1' })).toBeUndefined()
    expect(sample(text, 'pryv_node_writer_set_voter')).toBe(0)
    expect(sample(text, 'pryv_dns_up')).toBe(0)
    expect(sample(text, 'pryv_dns_dropped_total')).toBe(0)
    expect(sample(text, 'pryv_dns_queries_total', { qtype: 'A' })).toBeUndefined()
    expect(sample(text, 'pryv_node_settings_render_failures')).toBe(0)
    expect(sample(text, 'pryv_node_settings_rendered_revision')).toBe(0)
  })

  it('follows the node from scrape to scrape: values move, vanished series go', async () => {
    let current = snapshot()
    const registry = new Registry()
    registerNodeMetrics(registry, () => current)
    expect(sample(await registry.metrics(), 'pryv_dns_queries_total', { qtype: 'A' })).toBe(10)
    current = snapshot({
      members: current.members.slice(0, 2),
      dns: { ...current.dns!, queriesByType: { A: 15 } },
      writerSet: { ...current.writerSet!, role: 'follower', leader: PEER.core2 }
    })
    const text = await registry.metrics()
    expect(sample(text, 'pryv_dns_queries_total', { qtype: 'A' })).toBe(15)
    expect(sample(text, 'pryv_dns_queries_total', { qtype: 'AAAA' })).toBeUndefined()
    expect(sample(text, 'pryv_node_member_alive', { member: 'obs1' })).toBeUndefined()
    expect(sample(text, 'pryv_node_writer_set_role', { role: 'follower' })).toBe(1)
    expect(sample(text, 'pryv_node_writer_set_leader', { member: 'core2' })).toBe(1)
    expect(sample(text, 'pryv_node_writer_set_leader', { member: 'core1' })).toBeUndefined()
  })
})
