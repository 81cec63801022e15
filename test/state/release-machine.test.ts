import { describe, expect, it } from 'vitest'
import { builtinReleasePath, loadRelease, releaseDigest } from '../../src/release/index.js'
import type { ReleaseRecord } from '../../src/release/types.js'
import { parseCommand, type StampedCommand } from '../../src/state/commands.js'
import { applyCommand, checkCommand } from '../../src/state/machine.js'
import { currentRelease, currentReleaseEntry, emptyState, type PlatformState } from '../../src/state/types.js'

const demo = (await loadRelease(builtinReleasePath('demo'))).record
const SECRET = 'x'.repeat(43)

/** The demo release under another version (and so another digest). */
function version(v: string): ReleaseRecord {
  const { digest: _d, signature: _s, ...content } = { ...demo, version: v }
  return { ...content, digest: releaseDigest(content) }
}

function apply(s: PlatformState, cmd: Record<string, unknown>): ReturnType<typeof applyCommand> {
  const out = applyCommand(s, parseCommand({ at: s.revision, author: 'A', ...cmd }) as StampedCommand)
  s.revision++
  return out
}

function platform(): PlatformState {
  const s = emptyState()
  apply(s, { kind: 'platform.create', id: 'p', domain: 'pryv.test', founder: { peerId: 'A', name: 'core1', role: 'full', addresses: [] } })
  return s
}

describe('releases in the state machine', () => {
  it('a release and its migrated settings are applied in one entry; the history names where it came from', () => {
    const s = platform()
    expect(apply(s, { kind: 'release.apply', release: demo, settings: { platform: { 'api.sessionSecret': SECRET }, machines: {} } }).result.ok).toBe(true)
    const v2 = version('1.1.0')
    const out = apply(s, { kind: 'release.apply', release: v2, settings: { platform: { 'api.sessionSecret': SECRET, 'api.port': 4000 }, machines: { core1: { 'api.logLevel': 'debug' } } }, message: 'upgrade', origin: 'core1' })
    expect(out.result).toMatchObject({ ok: true, value: { version: '1.1.0' } })
    expect(currentRelease(s)?.version).toBe('1.1.0')
    expect(currentReleaseEntry(s)).toMatchObject({ kind: 'apply', version: '1.1.0', from: { version: '1.0.0', digest: demo.digest }, author: 'core1', message: 'upgrade' })
    expect(s.platformSettings.get('platform')).toEqual({ 'api.sessionSecret': SECRET, 'api.port': 4000 })
    expect(s.machineSettings.get('core1')).toEqual({ 'api.logLevel': 'debug' })
    // Settings changes are now checked against the new release.
    expect(checkCommand(s, { kind: 'settings.change', target: { kind: 'platform' }, set: { 'api.port': 'x' }, at: 1, author: 'A' })).toMatchObject({ code: 'PRYV_SETTINGS_INVALID' })
  })

  it('a rollback restores the previous release and every settings layer as they were before', () => {
    const s = platform()
    apply(s, { kind: 'release.apply', release: demo, settings: { platform: { 'api.sessionSecret': SECRET }, machines: {} } })
    const v2 = version('1.1.0')
    apply(s, { kind: 'release.apply', release: v2, settings: { platform: { 'api.sessionSecret': SECRET, 'api.port': 4000 }, machines: { core1: { 'api.logLevel': 'debug' } } } })
    const out = apply(s, { kind: 'release.rollback', failed: v2.digest, automatic: true, message: 'health gate failed' })
    expect(out.result).toMatchObject({ ok: true, value: { version: '1.0.0' } })
    expect(currentRelease(s)?.digest).toBe(demo.digest)
    expect(currentReleaseEntry(s)).toMatchObject({ kind: 'rollback', automatic: true, from: { version: '1.1.0' } })
    expect(s.platformSettings.get('platform')).toEqual({ 'api.sessionSecret': SECRET })
    expect(s.machineSettings.has('core1')).toBe(false)
    // Many nodes may report the same failure: only the first rollback applies.
    expect(apply(s, { kind: 'release.rollback', failed: v2.digest }).result).toMatchObject({ ok: false, code: 'PRYV_RELEASE_NOT_IN_FORCE' })
    // A second rollback goes further back (here: there is nothing before the first release), never forward to the failed one.
    expect(apply(s, { kind: 'release.rollback', failed: demo.digest }).result).toMatchObject({ ok: false, code: 'PRYV_RELEASE_NO_PREVIOUS' })
  })

  it('after an automatic rollback, an explicit one goes back to the release before, with its settings', () => {
    const s = platform()
    const [v1, v2, v3] = ['1.0.0', '1.1.0', '1.2.0'].map(version)
    apply(s, { kind: 'release.apply', release: v1, settings: { platform: { 'api.sessionSecret': SECRET }, machines: {} } })
    apply(s, { kind: 'release.apply', release: v2, settings: { platform: { 'api.sessionSecret': SECRET, 'api.port': 4001 }, machines: {} } })
    apply(s, { kind: 'release.apply', release: v3, settings: { platform: { 'api.sessionSecret': SECRET, 'api.port': 4002 }, machines: {} } })
    apply(s, { kind: 'release.rollback', failed: v3!.digest, automatic: true })
    expect(s.platformSettings.get('platform')).toMatchObject({ 'api.port': 4001 })
    expect(apply(s, { kind: 'release.rollback', failed: v2!.digest }).result).toMatchObject({ ok: true, value: { version: '1.0.0' } })
    expect(s.platformSettings.get('platform')).toEqual({ 'api.sessionSecret': SECRET })
  })

  it('refuses the first release\'s rollback, settings that do not fit, and releases not matching their digest', () => {
    const s = platform()
    expect(apply(s, { kind: 'release.apply', release: demo, settings: { platform: {}, machines: {} } }).result).toMatchObject({ ok: false, code: 'PRYV_SETTINGS_INVALID', message: expect.stringMatching(/api.sessionSecret/) })
    expect(apply(s, { kind: 'release.apply', release: demo, settings: { platform: { 'api.sessionSecret': SECRET }, machines: { ghost: {} } } }).result).toMatchObject({ ok: false, code: 'PRYV_NODE_UNKNOWN' })
    apply(s, { kind: 'release.apply', release: demo, settings: { platform: { 'api.sessionSecret': SECRET }, machines: {} } })
    expect(apply(s, { kind: 'release.rollback', failed: demo.digest }).result).toMatchObject({ ok: false, code: 'PRYV_RELEASE_NO_PREVIOUS' })
    expect(() => parseCommand({ kind: 'release.apply', release: { ...demo, version: '9.9.9' }, settings: { platform: {}, machines: {} }, at: 1, author: 'A' })).toThrow(/does not match its digest/)
    expect(() => parseCommand({ kind: 'release.apply', release: demo, settings: { platform: [] }, at: 1, author: 'A' })).toThrow(/settings/)
  })

  it('keeps the four most recent releases', () => {
    const s = platform()
    for (const v of ['1.0.0', '1.1.0', '1.2.0', '1.3.0']) {
      expect(apply(s, { kind: 'release.apply', release: version(v), settings: { platform: { 'api.sessionSecret': SECRET }, machines: {} } }).result.ok).toBe(true)
    }
    apply(s, { kind: 'release.apply', release: version('1.4.0'), settings: { platform: { 'api.sessionSecret': SECRET }, machines: {} } })
    expect([...s.releases.values()].map((r) => r.version).sort()).toEqual(['1.1.0', '1.2.0', '1.3.0', '1.4.0'])
  })
})
