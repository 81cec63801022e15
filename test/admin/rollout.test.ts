import { describe, expect, it } from 'vitest'
import { type MemberReports, rolloutWaves } from '../../src/admin/rollout.js'
import { restartWaves } from '../../src/release/waves.js'

const byName = (name: string) => name

const healthy = (settingsRevision: number) => ({ settingsRevision, failures: [] })
const failed = (settingsRevision: number) => ({ settingsRevision, failures: [{ service: 'demo-api', message: 'unhealthy after 10 s' }] })
const summary = (waves: ReturnType<typeof rolloutWaves>) => waves.map((w) => `${w.label}: ${w.members.map((m) => `${m.node} ${m.state}`).join(', ')} → ${w.state}`)

describe('a release rollout, wave by wave', () => {
  it('orders members as the rolling restarts do: the first by name alone, then groups of the restart budget', () => {
    expect(restartWaves(['core3', 'core1', 'core4', 'core2'], 1, byName)).toEqual([['core1'], ['core2'], ['core3'], ['core4']])
    expect(restartWaves(['core3', 'core1', 'core4', 'core2', 'core5'], 2, byName)).toEqual([['core1'], ['core2', 'core3'], ['core4', 'core5']])
    expect(restartWaves([], 1, byName)).toEqual([])
  })

  it('shows a rollout in progress: the canary passed, the next wave rolls out, the last waits for it', () => {
    const members: MemberReports[] = [
      { node: 'core1', reports: [healthy(3), healthy(10)] },
      { node: 'core2', reports: [healthy(3)] },
      { node: 'core3', reports: [healthy(3)] }
    ]
    expect(summary(rolloutWaves(10, undefined, members, 1))).toEqual([
      'canary: core1 healthy → passed',
      'wave 1: core2 waiting → rolling out',
      'wave 2: core3 waiting → waiting'
    ])
  })

  it('shows where a failed release stopped (its canary\'s health gate) and that the rollback reached every member', () => {
    const members: MemberReports[] = [
      { node: 'core1', reports: [healthy(3), failed(10), healthy(11)] },
      { node: 'core2', reports: [healthy(3), healthy(11)] },
      { node: 'core3', error: 'timed out' }
    ]
    const failedRelease = rolloutWaves(10, 11, members, 1)
    expect(summary(failedRelease)).toEqual([
      'canary: core1 failed → failed',
      'wave 1: core2 skipped → not reached',
      'wave 2: core3 unreachable → unknown'
    ])
    expect(failedRelease[0]!.gate).toBe('failed on core1 (demo-api: unhealthy after 10 s)')
    expect(summary(rolloutWaves(11, undefined, members, 1))).toEqual([
      'canary: core1 healthy → passed',
      'wave 1: core2 healthy → passed',
      'wave 2: core3 unreachable → unknown'
    ])
  })
})
