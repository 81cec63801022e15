import { describe, expect, it } from 'vitest'
import { SECRET_MASK } from '../../src/config/mask.js'
import type { StampedCommand } from '../../src/state/commands.js'
import { parseCommand } from '../../src/state/commands.js'
import { applyCommand, checkCommand } from '../../src/state/machine.js'
import { emptyState, type PlatformState } from '../../src/state/types.js'
import { builtinReleasePath, loadRelease } from '../../src/release/index.js'

const founder = { peerId: 'A', name: 'core1', role: 'full' as const, addresses: [] }
const SECRET = 'x'.repeat(43)
const demo = (await loadRelease(builtinReleasePath('demo'))).record

/** A platform on the demo release, with its one required secret set (revision 2). */
function platform(): PlatformState {
  const s = emptyState()
  applyCommand(s, { kind: 'platform.create', id: 'p', domain: 'pryv.test', founder, at: 0, author: 'A' })
  s.revision = 1
  const out = applyCommand(s, { kind: 'release.apply', release: demo, settings: { platform: { 'api.sessionSecret': SECRET }, machines: {} }, at: 0, author: 'A' })
  expect(out.result.ok).toBe(true)
  s.revision = 2
  return s
}

const change = (fields: Partial<StampedCommand & { kind: 'settings.change' }>, at = 10): StampedCommand =>
  ({ kind: 'settings.change', target: { kind: 'platform' }, at, author: 'A', ...fields }) as StampedCommand

/** Applies like the replica does: the caller advances the revision. */
function apply(s: PlatformState, cmd: StampedCommand): ReturnType<typeof applyCommand> {
  const out = applyCommand(s, cmd)
  s.revision++
  return out
}

describe('settings.change in the state machine', () => {
  it('stores platform values and a history record with the masked diff, author and time', () => {
    const s = platform()
    const out = apply(s, change({ set: { 'api.sessionSecret': 'y'.repeat(43), 'api.port': 8080 }, message: 'new port', origin: 'core1' }, 42))
    expect(out.result).toMatchObject({ ok: true, value: { revision: 3 } })
    expect(out.changes).toEqual([{ type: 'platformSettings', id: 'platform' }, { type: 'settingsHistory', id: '000000000003' }])
    expect(s.platformSettings.get('platform')).toEqual({ 'api.sessionSecret': 'y'.repeat(43), 'api.port': 8080 })
    const record = s.settingsHistory.get('000000000003')!
    expect(record).toMatchObject({ revision: 3, at: 42, author: 'core1', message: 'new port', target: { kind: 'platform' } })
    expect(record.diff).toContainEqual({ key: 'api.sessionSecret', from: SECRET_MASK, to: SECRET_MASK, secret: true })
  })

  it('keeps machine overrides by node name, and drops the record when the last one is unset', () => {
    const s = platform()
    expect(apply(s, change({ target: { kind: 'machine', nodeId: 'core1' }, set: { 'api.logLevel': 'debug' } })).result.ok).toBe(true)
    expect(s.machineSettings.get('core1')).toEqual({ 'api.logLevel': 'debug' })
    const out = apply(s, change({ target: { kind: 'machine', nodeId: 'core1' }, unset: ['api.logLevel'] }))
    expect(out.changes).toContainEqual({ type: 'machineSettings', id: 'core1' })
    expect(s.machineSettings.has('core1')).toBe(false)
  })

  it.each([
    ['a wrong type and an unknown key, all at once', change({ set: { 'api.port': 'x', 'platform.nme': 'a' } }), /'api.port' must be a port number.*did you mean 'platform.name'/],
    ['a platform-wide key on one machine', change({ target: { kind: 'machine', nodeId: 'core1' }, set: { 'platform.name': 'x' } }), /platform-wide/],
    ['a required value removed (the demo API template needs it)', change({ unset: ['api.sessionSecret'] }), /'api.sessionSecret' is required/]
  ])('refuses %s, without side effects', (_what, cmd, message) => {
    const s = platform()
    const before = structuredClone([...s.settingsHistory.entries()])
    expect(checkCommand(s, cmd)).toMatchObject({ ok: false, code: 'PRYV_SETTINGS_INVALID', message: expect.stringMatching(message) })
    expect(applyCommand(s, cmd)).toEqual({ result: expect.objectContaining({ ok: false }), changes: [] })
    expect([...s.settingsHistory.entries()]).toEqual(before)
    expect(s.platformSettings.get('platform')).toEqual({ 'api.sessionSecret': SECRET })
  })

  it('refuses overrides for a node that is not a member', () => {
    const s = platform()
    expect(checkCommand(s, change({ target: { kind: 'machine', nodeId: 'nobody' }, set: { 'api.logLevel': 'debug' } }))).toMatchObject({ code: 'PRYV_NODE_UNKNOWN' })
  })

  it('checks the shape of logged changes', () => {
    expect(() => parseCommand({ kind: 'settings.change', target: { kind: 'machine' }, at: 1, author: 'A' })).toThrow(/target/)
    expect(() => parseCommand({ kind: 'settings.change', target: { kind: 'platform' }, set: [], at: 1, author: 'A' })).toThrow(/set/)
    expect(parseCommand({ kind: 'settings.change', target: { kind: 'platform' }, unset: ['api.port'], at: 1, author: 'A' }).kind).toBe('settings.change')
  })
})
