import { describe, expect, it } from 'vitest'
import { HISTORY_KEPT, WatchHub } from '../../src/watch/hub.js'

const contents = (entries: Record<string, Record<string, unknown>>): Map<string, Record<string, unknown>> => new Map(Object.entries(entries))

describe('WatchHub', () => {
  it('adds a version only when a service\'s content changes, and wakes only that service\'s watchers', () => {
    const hub = new WatchHub()
    hub.publish(2, 2, contents({ api: { 'api.port': 3000 }, web: { 'platform.name': 'A' } }))
    let apiWakes = 0
    let webWakes = 0
    hub.subscribe('api', () => apiWakes++)
    hub.subscribe('web', () => webWakes++)
    // Same content in another key order: unchanged.
    hub.publish(3, 3, contents({ api: { 'api.port': 3000 }, web: { 'platform.name': 'A' } }))
    hub.publish(4, 4, contents({ api: { 'api.port': 3000 }, web: { 'platform.name': 'B' } }))
    expect([apiWakes, webWakes]).toEqual([0, 1])
    expect(hub.current('api')?.index).toBe(2)
    expect(hub.current('web')).toMatchObject({ index: 4, settings: { 'platform.name': 'B' } })
  })

  it('after(N): every version in order, the current one for an index from the future', () => {
    const hub = new WatchHub()
    for (const [revision, name] of [[2, 'A'], [5, 'B'], [9, 'C']] as const) hub.publish(revision, revision, contents({ web: { name } }))
    expect(hub.after('web', 0)?.index).toBe(2)
    expect(hub.after('web', 2)?.index).toBe(5)
    expect(hub.after('web', 6)?.index).toBe(9)
    expect(hub.after('web', 9)).toBeUndefined()
    expect(hub.after('web', 50)?.index).toBe(9)
  })

  it('a change without a new settings revision (local --set) still gets a larger index', () => {
    const hub = new WatchHub()
    hub.publish(7, 7, contents({ web: { name: 'A' } }))
    hub.publish(7, 7, contents({ web: { name: 'local' } }))
    expect(hub.current('web')?.index).toBe(8)
  })

  it('wait resolves on the next change, or with undefined when aborted; keeps the last versions only', async () => {
    const hub = new WatchHub()
    hub.publish(1, 1, contents({ web: { n: 0 } }))
    const next = hub.wait('web', 1, AbortSignal.timeout(5000))
    hub.publish(2, 2, contents({ web: { n: 1 } }))
    expect((await next)?.index).toBe(2)
    const aborted = new AbortController()
    const waiting = hub.wait('web', 2, aborted.signal)
    aborted.abort()
    expect(await waiting).toBeUndefined()
    for (let i = 3; i < 3 + HISTORY_KEPT; i++) hub.publish(i, i, contents({ web: { n: i } }))
    expect(hub.after('web', 0)?.index).toBe(3)
  })
})
