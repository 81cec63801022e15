import { describe, expect, it } from 'vitest'
import { judgeBackups, judgeCertificate, judgeFdLimit, judgeFsync, judgeMembers, judgeRmemMax, type MemberView, worst } from '../../src/doctor/checks.js'

const member = (name: string, over: Partial<MemberView> = {}): MemberView => ({ name, self: false, alive: true, version: '1.0.0', clockOffsetMs: 3, lastSeenAgoMs: 500, ...over })

describe('doctor judgments (the thresholds a slow disk or a tuned kernel would need to provoke)', () => {
  it('fsync: p99 ≤ 10 ms OK (etcd\'s guidance), ≤ 50 ms WARN, above FAIL', () => {
    const samples = (p99: number) => [...Array.from({ length: 98 }, () => 1), p99, p99]
    expect(judgeFsync(samples(9)).result).toBe('OK')
    expect(judgeFsync(samples(30)).result).toBe('WARN')
    expect(judgeFsync(samples(200))).toMatchObject({ result: 'FAIL', detail: 'fsync p99 200.0 ms over 100 writes' })
  })

  it('limits: open files and the UDP receive buffer', () => {
    expect(judgeFdLimit(65536, 'x').result).toBe('OK')
    expect(judgeFdLimit(20000, 'x').result).toBe('WARN')
    expect(judgeFdLimit(1024, 'x').result).toBe('FAIL')
    expect(judgeRmemMax(212992)).toMatchObject({ result: 'WARN', hint: expect.stringContaining('sysctl -w net.core.rmem_max=4194304') })
    expect(judgeRmemMax(4194304).result).toBe('OK')
  })

  it('members: down ones, clocks and versions; the worst result decides', () => {
    const self = member('core1', { self: true, clockOffsetMs: 0 })
    const checks = judgeMembers([self, member('core2', { clockOffsetMs: -1500 }), member('core3', { alive: false, version: '0.9.0' })], '1.0.0')
    expect(checks).toEqual([
      expect.objectContaining({ name: 'members reachable', result: 'WARN', detail: 'not heard from: core3' }),
      expect.objectContaining({ name: 'clock offset', result: 'WARN', detail: 'against this node: core2 -1.5 s' }),
      expect.objectContaining({ name: 'version', result: 'WARN', detail: 'this node 1.0.0; core3 0.9.0' })
    ])
    expect(worst(checks)).toBe('WARN')
    expect(worst([...checks, { name: 'x', result: 'FAIL', detail: '' }])).toBe('FAIL')
    expect(judgeMembers([self], '1.0.0')).toEqual([expect.objectContaining({ result: 'OK', detail: 'this node is the only member' })])
  })

  it('certificate: expired FAIL, under two weeks left WARN (its renewal is late), none while ACME is set up WARN', () => {
    const cert = (daysLeft: number) => ({ names: ['*.pryv.test'], notAfter: '2027-01-01T00:00:00.000Z', daysLeft, renewAt: '2026-12-02T00:00:00.000Z' })
    expect(judgeCertificate(cert(60), true).result).toBe('OK')
    expect(judgeCertificate(cert(10), true)).toMatchObject({ result: 'WARN', hint: expect.stringContaining('certs renew') })
    expect(judgeCertificate(cert(0), true)).toMatchObject({ result: 'FAIL', detail: expect.stringMatching(/^expired: \*\.pryv\.test/) })
    expect(judgeCertificate(null, false).result).toBe('OK')
    expect(judgeCertificate(null, true).result).toBe('WARN')
  })

  it('backups: none scheduled WARN; the last good one too old or an error WARN, with its age', () => {
    const now = Date.parse('2026-12-05T00:00:00Z')
    const day = 24 * 3600_000
    const schedule = { dir: '/backups', intervalMs: day, lastError: null, stale: false }
    expect(judgeBackups(null, now)).toMatchObject({ result: 'WARN', hint: expect.stringContaining('backup.directory') })
    expect(judgeBackups({ ...schedule, lastAt: now - 3 * 3600_000 }, now)).toMatchObject({ result: 'OK', detail: 'last good 3 h ago in /backups (every 24 h)' })
    expect(judgeBackups({ ...schedule, lastAt: now - 3 * day, stale: true }, now)).toMatchObject({ result: 'WARN', detail: 'last good 3 days ago in /backups (every 24 h)' })
    expect(judgeBackups({ ...schedule, lastAt: null, lastError: 'EACCES' }, now)).toMatchObject({ result: 'WARN', detail: 'none yet in /backups (every 24 h); last error: EACCES' })
  })
})
