import { describe, expect, it } from 'vitest'
import { HealthMonitor, type RunInfo } from '../../src/runtime/health.js'
import type { HealthState } from '../../src/runtime/index.js'

const probe = { kind: 'command', command: 'check' } as const

/** A monitor over a scripted service: `results` are the probe answers in order (then the last repeats). */
function scripted(results: boolean[], run: () => RunInfo, options: { retries?: number; startPeriodMs?: number; now?: () => number } = {}) {
  let probes = 0
  const monitor = new HealthMonitor(
    { probe, intervalMs: 1, retries: options.retries ?? 2, startPeriodMs: options.startPeriodMs ?? 0 },
    async () => run(),
    async () => results[Math.min(probes++, results.length - 1)]!,
    options.now
  )
  return { monitor, probes: () => probes }
}

async function until(monitor: HealthMonitor, state: HealthState, probes: () => number, atLeastProbes = 0): Promise<void> {
  while (monitor.health !== state || probes() < atLeastProbes) await new Promise((resolve) => setTimeout(resolve, 2))
}

const running = (startedAt: number): (() => RunInfo) => () => ({ running: true, startedAt: new Date(startedAt) })

describe('HealthMonitor', () => {
  it('is healthy after a success and unhealthy after `retries` failures in a row', async () => {
    const { monitor, probes } = scripted([true, false, true, false, false], running(0))
    await until(monitor, 'healthy', probes)
    await until(monitor, 'unhealthy', probes, 5)
    expect(probes()).toBeGreaterThanOrEqual(5)
    await monitor.stop()
  })

  it('does not count failures during the start period', async () => {
    const { monitor, probes } = scripted([false], running(1_000), { startPeriodMs: 10_000, now: () => 2_000 })
    await until(monitor, 'starting', probes, 10)
    expect(monitor.health).toBe('starting')
    await monitor.stop()
  })

  it('starts over as `starting` for each new run, and does not probe a stopped service', async () => {
    let info: RunInfo = { running: true, startedAt: new Date(1) }
    const { monitor, probes } = scripted([false], () => info, { retries: 1 })
    await until(monitor, 'unhealthy', probes)
    info = { running: false, startedAt: new Date(1) }
    await until(monitor, 'starting', probes)
    const probed = probes()
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(probes()).toBe(probed)
    info = { running: true, startedAt: new Date(2) }
    await until(monitor, 'unhealthy', probes)
    await monitor.stop()
  })
})
