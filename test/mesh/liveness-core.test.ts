import { describe, expect, it } from 'vitest'
import { digestEveryMs, LivenessCore, type RosterMember } from '../../src/membership/liveness.js'
import { type Heartbeat, type LivenessReport, parseHeartbeatFrame, parseReport } from '../../src/mesh/liveness.js'

const timings = { heartbeatMs: 1000, deadAfterMs: 4000 }
const hb = (name: string, extra: Partial<Heartbeat> = {}): Heartbeat => ({ name, addresses: [`/ip4/127.0.0.1/tcp/${name.length}`], revision: 1, version: '0.1.0', ...extra })
const roster = (full: string[], observers: string[]): RosterMember[] => [...full.map((peerId) => ({ peerId, full: true })), ...observers.map((peerId) => ({ peerId, full: false }))]

function core(self: string, full: string[], observers: string[], now = 0): LivenessCore {
  const c = new LivenessCore(timings, 1)
  c.setRoster(self, roster(full, observers), now)
  return c
}

/** A full member that has listened long enough to report, hearing `heard` at `now`. */
function reporter(self: string, full: string[], observers: string[], heard: string[], now: number): LivenessCore {
  const c = core(self, full, observers, now - timings.deadAfterMs)
  for (const id of heard) c.heardDirectly(id, hb(id), now)
  return c
}

describe('liveness core: direct heartbeats', () => {
  it('a member heard within deadAfterMs is alive, then down', () => {
    const c = core('o1', ['f1'], ['o1'])
    expect(c.view('f1', 0).alive).toBe(false)
    c.heardDirectly('f1', hb('f1'), 1000)
    expect(c.view('f1', 5000)).toMatchObject({ alive: true, lastSeenAgoMs: 4000, lastHeartbeat: { name: 'f1' } })
    expect(c.view('f1', 5001).alive).toBe(false)
  })

  it('time this node was stalled counts against no member', () => {
    const c = core('o1', ['f1'], ['o1'])
    c.heardDirectly('f1', hb('f1'), 1000)
    // Blocked for 3 s: without the stall, f1 would be silent for 4.5 s at 5500.
    c.stalled(4000, 3000)
    expect(c.view('f1', 5500).alive).toBe(true)
    expect(c.view('f1', 8001).alive).toBe(false)
  })

  it('ignores non-members and itself', () => {
    const c = core('o1', ['f1'], ['o1'])
    c.heardDirectly('stranger', hb('x'), 0)
    c.heardDirectly('o1', hb('o1'), 0)
    expect(c.view('stranger', 0).alive).toBe(false)
    expect(c.view('o1', 0).alive).toBe(false)
  })
})

describe('liveness core: reports', () => {
  it('a full member reports nothing until it has listened for deadAfterMs, then a digest, then changes only', () => {
    const f = core('f1', ['f1'], ['o1', 'o2'], 0)
    f.heardDirectly('o1', hb('o1'), 500)
    expect(f.nextReport(1000, 0)).toBeUndefined()
    f.heardDirectly('o1', hb('o1'), 3900)
    const digest = f.nextReport(4000, 0)!
    expect(digest).toMatchObject({ digest: true, seq: 1, entries: [{ peerId: 'o1', up: true }] })
    // A digest leaves addresses out; the revision is in.
    expect(digest.entries[0]!.heartbeat).toMatchObject({ addresses: [], revision: 1 })
    expect(f.nextReport(4250, 0)).toBeUndefined()
    // A revision alone is not a change (the next digest carries it); a new member and an unhealthy service are.
    f.heardDirectly('o1', hb('o1', { revision: 9 }), 4300)
    expect(f.nextReport(4500, 0)).toBeUndefined()
    f.heardDirectly('o2', hb('o2'), 4600)
    f.heardDirectly('o1', hb('o1', { unhealthy: ['api'] }), 4600)
    const change = f.nextReport(4750, 0)!
    expect(change.digest).toBe(false)
    expect(change.entries.map((e) => [e.peerId, e.up, e.heartbeat?.unhealthy ?? []])).toEqual([['o1', true, ['api']], ['o2', true, []]])
    expect(change.entries[1]!.heartbeat!.addresses).toEqual(['/ip4/127.0.0.1/tcp/2'])
    // Each change is sent again twice, half a heartbeat period apart (a lost report must not hide it).
    expect(f.nextReport(5000, 0)).toBeUndefined()
    expect(f.nextReport(5250, 0)!.entries.map((e) => e.peerId)).toEqual(['o1', 'o2'])
    expect(f.nextReport(5500, 0)).toBeUndefined()
    expect(f.nextReport(5750, 0)!.entries.map((e) => e.peerId)).toEqual(['o1', 'o2'])
    expect(f.nextReport(6750, 0)).toBeUndefined()
    // o2 falls silent: reported down.
    f.heardDirectly('o1', hb('o1', { unhealthy: ['api'] }), 8000)
    expect(f.nextReport(8601, 0)!.entries).toMatchObject([{ peerId: 'o2', up: false }])
    expect(f.nextReport(8850, 0)).toBeUndefined()
    // The next digest, digestEveryMs after the first.
    expect(f.nextReport(4000 + digestEveryMs(3), 0)).toMatchObject({ digest: true, entries: [{ peerId: 'o1' }] })
  })

  it('an observer takes a member as alive while a full member it hears directly reports it up', () => {
    const now = 10_000
    const f1 = reporter('f1', ['f1'], ['o1', 'o2'], ['o1', 'o2'], now)
    const o1 = core('o1', ['f1'], ['o1', 'o2'])
    o1.heardDirectly('f1', hb('f1'), now)
    expect(o1.receiveReport('f1', f1.nextReport(now, 0)!, now, 0)).toBe(true)
    expect(o1.view('o2', now + 3000)).toMatchObject({ alive: true, lastHeartbeat: { name: 'o2' } })
    // The claim stands as long as f1 is heard and says nothing else...
    o1.heardDirectly('f1', hb('f1'), now + 20_000)
    expect(o1.view('o2', now + 20_000).alive).toBe(true)
    // ...until f1 reports it down.
    f1.heardDirectly('o1', hb('o1'), now + 4000)
    const down = f1.nextReport(now + 4500, 0)!
    expect(down).toMatchObject({ digest: false, entries: [{ peerId: 'o2', up: false }] })
    o1.receiveReport('f1', down, now + 20_000, 0)
    expect(o1.view('o2', now + 20_000)).toMatchObject({ alive: false })
    expect(o1.view('o2', now + 20_000).lastSeenAgoMs).toBeGreaterThan(timings.deadAfterMs)
  })

  it('one reporter of three vanishing changes nothing: the others still report', () => {
    const now = 10_000
    const full = ['f1', 'f2', 'f3']
    const o1 = core('o1', full, ['o1', 'o2'])
    const reporters = new Map(full.map((f) => [f, reporter(f, full, ['o1', 'o2'], ['o1', 'o2', ...full], now)]))
    for (const [f, r] of reporters) {
      o1.heardDirectly(f, hb(f), now)
      o1.receiveReport(f, r.nextReport(now, 0)!, now, 0)
    }
    // f1 falls silent; f2 and f3 go on hearing the others, and report f1 down.
    const later = now + 4500
    for (const f of ['f2', 'f3']) {
      o1.heardDirectly(f, hb(f), later)
      const r = reporters.get(f)!
      for (const id of ['o1', 'o2', 'f2', 'f3']) r.heardDirectly(id, hb(id), later)
      const change = r.nextReport(later, 0)!
      expect(change.entries).toMatchObject([{ peerId: 'f1', up: false }])
      o1.receiveReport(f, change, later, 0)
    }
    expect(o1.view('f1', later).alive).toBe(false)
    expect(o1.view('o2', later).alive).toBe(true)
  })

  it('the only full member vanishing does not flip every observer to dead: its last reports stand', () => {
    const now = 10_000
    const o1 = core('o1', ['f1'], ['o1', 'o2', 'o3'])
    o1.heardDirectly('f1', hb('f1'), now)
    o1.receiveReport('f1', reporter('f1', ['f1'], ['o1', 'o2', 'o3'], ['o1', 'o2'], now).nextReport(now, 0)!, now, 0)
    expect(o1.view('f1', now + 60_000).alive).toBe(false)
    expect(o1.view('o2', now + 60_000).alive).toBe(true)
    expect(o1.view('o3', now + 60_000).alive).toBe(false)
  })

  it('a digest replaces the reporter\'s claims; older reports and reports of non-full members are ignored', () => {
    const now = 10_000
    const o1 = core('o1', ['f1'], ['o1', 'o2', 'o3'])
    o1.heardDirectly('f1', hb('f1'), now)
    const report = (seq: number, digest: boolean, up: string[]): LivenessReport => ({ v: 1, boot: 5, seq, digest, clock: 0, entries: up.map((peerId) => ({ peerId, up: true, agoMs: 100, heartbeat: hb(peerId) })) })
    expect(o1.receiveReport('f1', report(2, true, ['o2', 'o3']), now, 0)).toBe(true)
    expect(o1.receiveReport('f1', report(1, false, ['o2']), now, 0)).toBe(false)
    expect(o1.receiveReport('o2', report(9, true, []), now, 0)).toBe(false)
    expect(o1.view('o3', now).alive).toBe(true)
    expect(o1.receiveReport('f1', report(3, true, ['o2']), now, 0)).toBe(true)
    expect(o1.view('o3', now).alive).toBe(false)
    // A digest without addresses keeps those known from before.
    expect(o1.receiveReport('f1', { ...report(4, true, []), entries: [{ peerId: 'o2', up: true, agoMs: 0, heartbeat: { name: 'o2', addresses: [], revision: 7 } }] }, now, 0)).toBe(true)
    expect(o1.view('o2', now).lastHeartbeat).toMatchObject({ revision: 7, addresses: ['/ip4/127.0.0.1/tcp/2'] })
  })

  it('carries clock offsets through a report: the member\'s against the reporter\'s, plus the reporter\'s against ours', () => {
    const now = 10_000
    const o1 = core('o1', ['f1'], ['o1', 'o2'])
    o1.heardDirectly('f1', hb('f1'), now, 50)
    const report: LivenessReport = { v: 1, boot: 1, seq: 1, digest: true, clock: 1_000_050, entries: [{ peerId: 'o2', up: true, agoMs: 0, heartbeat: hb('o2'), clockOffsetMs: 1200 }] }
    o1.receiveReport('f1', report, now, 1_000_000)
    expect(o1.clockOffsetMs('f1', now)).toBe(50)
    expect(o1.clockOffsetMs('o2', now)).toBe(1250)
  })
})

describe('liveness formats carry a version', () => {
  it('refuses frames and reports of another version or shape', () => {
    expect(parseHeartbeatFrame({ v: 1, heartbeat: hb('a'), echo: 5 })).toMatchObject({ echo: 5 })
    expect(parseHeartbeatFrame({ v: 2, heartbeat: hb('a') })).toBeUndefined()
    expect(parseHeartbeatFrame({ v: 1, heartbeat: { name: 'a' } })).toBeUndefined()
    const report = { v: 1, boot: 1, seq: 1, digest: false, clock: 0, entries: [{ peerId: 'p', up: true, agoMs: 0, heartbeat: hb('p') }] }
    expect(parseReport(report)).toEqual(report)
    expect(parseReport({ ...report, v: 2 })).toBeUndefined()
    expect(parseReport({ ...report, entries: [{ peerId: 'p', up: 'yes', agoMs: 0 }] })).toBeUndefined()
    expect(parseReport({ ...report, entries: [{ peerId: 'p', up: true, agoMs: -1 }] })).toBeUndefined()
  })
})
