import { describe, expect, it } from 'vitest'
import { judgeReachability } from '../../src/doctor/checks.js'
import { screenTargets } from '../../src/node/reachability.js'

describe('reachability through the mesh: what an asked member agrees to dial', () => {
  const known = new Set(['/ip4/10.0.0.5/tcp/7400', '/ip4/10.0.0.5/tcp/7401'])

  it('only the asking member\'s own advertised addresses, and DNS on its own hosts: no relay to anywhere else', () => {
    const screened = screenTargets({
      targets: [
        { kind: 'mesh', address: '/ip4/10.0.0.5/tcp/7400' },
        { kind: 'join', address: '/ip4/10.0.0.5/tcp/7401' },
        { kind: 'dns', address: '10.0.0.5:53' },
        { kind: 'mesh', address: '/ip4/192.0.2.1/tcp/22' },
        { kind: 'join', address: '/ip4/10.0.0.5/tcp/22' },
        { kind: 'dns', address: '192.0.2.1:53' },
        { kind: 'http', address: '/ip4/10.0.0.5/tcp/80' },
        'nonsense'
      ]
    }, known)
    const dialled = screened.filter((t) => !('refused' in t))
    expect(dialled).toEqual([
      { kind: 'mesh', address: '/ip4/10.0.0.5/tcp/7400' },
      { kind: 'join', address: '/ip4/10.0.0.5/tcp/7401' },
      { kind: 'dns', address: '10.0.0.5:53' }
    ])
    expect(screened.filter((t) => 'refused' in t).map((t) => 'refused' in t && t.refused)).toEqual([
      { kind: 'mesh', address: '/ip4/192.0.2.1/tcp/22', ok: false, dialled: false, error: expect.stringContaining('not dialled') },
      { kind: 'join', address: '/ip4/10.0.0.5/tcp/22', ok: false, dialled: false, error: expect.stringContaining('not dialled') },
      { kind: 'dns', address: '192.0.2.1:53', ok: false, dialled: false, error: expect.stringContaining('not dialled') }
    ])
  })

  it('at most 16 targets a request; a request without a list dials nothing', () => {
    const many = Array.from({ length: 40 }, () => ({ kind: 'mesh', address: '/ip4/10.0.0.5/tcp/7400' }))
    expect(screenTargets({ targets: many }, known)).toHaveLength(16)
    expect(screenTargets({}, known)).toEqual([])
    expect(screenTargets(null, known)).toEqual([])
  })
})

describe('doctor: advertised addresses', () => {
  const targets = [{ kind: 'mesh' as const, address: '/ip4/10.0.0.5/tcp/7400' }]
  const ok = { kind: 'mesh', address: '/ip4/10.0.0.5/tcp/7400', ok: true, latencyMs: 0.4 }
  const refused = { kind: 'mesh', address: '/ip4/10.0.0.5/tcp/7400', ok: false, error: 'connect ECONNREFUSED' }

  it('reached by every member asked: OK; by some: WARN; by none: FAIL with the port and --announce', () => {
    expect(judgeReachability({ targets, askedOf: [{ member: 'a', results: [ok] }, { member: 'b', results: [ok] }], otherMembers: 2 })[0]).toMatchObject({ result: 'OK', detail: 'from a (0.4 ms), b (0.4 ms)' })
    expect(judgeReachability({ targets, askedOf: [{ member: 'a', results: [ok] }, { member: 'b', results: [refused] }], otherMembers: 2 })[0]).toMatchObject({ result: 'WARN', detail: 'reached by a; not by b: connect ECONNREFUSED' })
    const none = judgeReachability({ targets, askedOf: [{ member: 'a', results: [refused] }], otherMembers: 1 })[0]!
    expect(none).toMatchObject({ result: 'FAIL', name: 'reachable mesh (tcp) /ip4/10.0.0.5/tcp/7400' })
    expect(none.hint).toContain('TCP port 7400')
    expect(none.hint).toContain('--announce')
  })

  it('alone on its platform: OK, nothing to ask; members that do not answer: WARN, not a verdict on the addresses', () => {
    expect(judgeReachability({ targets, askedOf: [], otherMembers: 0 })).toEqual([expect.objectContaining({ result: 'OK' })])
    expect(judgeReachability({ targets, askedOf: [], otherMembers: 2 })[0]).toMatchObject({ result: 'WARN', detail: 'not checked: no other member is up to ask' })
    expect(judgeReachability({ targets, askedOf: [{ member: 'a', error: 'did not answer: timeout' }], otherMembers: 1 })[0]).toMatchObject({ result: 'WARN', detail: 'not checked: a did not answer: timeout' })
    const unknown = { ...refused, dialled: false as const, error: 'not an address it knows this member by: not dialled' }
    expect(judgeReachability({ targets, askedOf: [{ member: 'a', results: [unknown] }], otherMembers: 1 })[0]).toMatchObject({ result: 'WARN', hint: expect.stringContaining('heartbeats') })
  })
})
