import { createPeerScoreThresholds } from '@libp2p/gossipsub/score'
import { describe, expect, it } from 'vitest'
import { platformScoreParams } from '../../src/mesh/libp2p.js'

describe('gossipsub scoring on the platform\'s topics', () => {
  const topics = ['pryv/p1/log', 'pryv/p1/liveness']
  const params = platformScoreParams(topics)
  const thresholds = createPeerScoreThresholds()

  /** The lowest score a member that publishes nothing can reach: the full mesh delivery deficit and
   * the failure penalty it leaves after a prune, both at once, on every topic. */
  const quietMemberFloor = Object.values(params.topics).reduce((sum, t) => {
    const deficit = t.meshMessageDeliveriesThreshold ** 2
    return sum + t.topicWeight * deficit * (t.meshMessageDeliveriesWeight + t.meshFailurePenaltyWeight)
  }, 0)

  it('prunes a mesh peer that delivers nothing (its score goes below 0)', () => {
    expect(Object.keys(params.topics)).toEqual(topics)
    expect(quietMemberFloor).toBeLessThan(0)
  })

  it('never stops gossiping or publishing to a quiet observer, nor graylists it', () => {
    expect(quietMemberFloor).toBeGreaterThan(thresholds.gossipThreshold)
    expect(thresholds.gossipThreshold).toBeGreaterThan(thresholds.publishThreshold)
    expect(thresholds.publishThreshold).toBeGreaterThan(thresholds.graylistThreshold)
  })

  it('still penalises invalid messages down to the graylist', () => {
    for (const t of Object.values(params.topics)) expect(t.invalidMessageDeliveriesWeight * t.topicWeight * 3 ** 2).toBeLessThan(thresholds.graylistThreshold)
  })
})
