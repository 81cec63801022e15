import { describe, expect, it } from 'vitest'
import { simulateLiveness } from '../../src/membership/liveness-sim.js'

// The seeded simulation of src/membership/liveness.ts at a small size (bench/liveness-sim.js runs it at 500).
describe('liveness protocol in simulation', () => {
  const run = (nodes: number, loss: number, slow = 0) => simulateLiveness({ nodes, full: 5, seconds: 30, loss, slow, seed: 7 })

  it('costs an observer the same at 30 and 90 nodes, where the old heartbeats cost three times more', () => {
    const small = run(30, 0.01)
    const large = run(90, 0.01)
    // An observer: 5 heartbeats out, 5 answers in, a few reports per second, whatever the platform's size.
    expect(large.protocol.messagesPerSecond.observer).toBeLessThan(14)
    expect(large.protocol.messagesPerSecond.observer / small.protocol.messagesPerSecond.observer).toBeLessThan(1.2)
    expect(large.protocol.signatureChecksPerSecond.observer).toBeLessThan(5)
    expect(large.protocol.signatureChecksPerSecond.full).toBeLessThan(5)
    expect(large.reference.signatureChecksPerSecond.observer / small.reference.signatureChecksPerSecond.observer).toBeGreaterThan(2.8)
    expect(large.reference.signatureChecksPerSecond.observer).toBeGreaterThan(80)
  })

  it('sees a killed observer and a killed full member dead within 5 s on every node, under 5 % loss, with no live member seen dead', () => {
    const r = run(60, 0.05)
    for (const d of [r.protocol.detection.observer, r.protocol.detection.full]) {
      expect(d.missed).toBe(0)
      expect(d.max).toBeLessThanOrEqual(5000)
      expect(d.p50).toBeGreaterThan(3000)
    }
    expect(r.protocol.falsePositives.checks).toBeGreaterThan(10_000)
    expect(r.protocol.falsePositives.wrong).toBe(0)
  })

  it('with slow messages (1 % delayed up to 2 s) too, no live member is seen dead', () => {
    const r = run(60, 0.05, 0.01)
    expect(r.protocol.falsePositives.wrong).toBe(0)
    expect(r.protocol.detection.full.missed + r.protocol.detection.observer.missed).toBe(0)
    expect(r.protocol.detection.full.max).toBeLessThanOrEqual(7000)
  })

  it('is deterministic for a seed', () => {
    expect(run(20, 0.05, 0.01)).toEqual(run(20, 0.05, 0.01))
  })
})
