import { describe, expect, it } from 'vitest'
import { demoSchema, diffSettings, restoreValues, validateChange } from '../../src/config/index.js'

describe('diffSettings', () => {
  it('lists added, changed and removed keys sorted, compares structures deeply and masks secrets', () => {
    const a = { 'api.port': 3000, 'api.corsOrigins': ['https://a.io'], 'api.sessionSecret': 'old-secret', 'platform.name': 'X' }
    const b = { 'api.port': 8080, 'api.corsOrigins': ['https://a.io'], 'api.sessionSecret': 'new-secret', 'api.logLevel': 'debug' }
    const diff = diffSettings(demoSchema, a, b)
    expect(diff).toEqual([
      { key: 'api.logLevel', from: undefined, to: 'debug', secret: false },
      { key: 'api.port', from: 3000, to: 8080, secret: false },
      { key: 'api.sessionSecret', from: '••••', to: '••••', secret: true },
      { key: 'platform.name', from: 'X', to: undefined, secret: false }
    ])
    expect(JSON.stringify(diff)).not.toMatch(/old-secret|new-secret/)
  })

  it('is empty for equal values', () => {
    expect(diffSettings(demoSchema, { 'api.corsOrigins': ['https://a.io'] }, { 'api.corsOrigins': ['https://a.io'] })).toEqual([])
  })
})

describe('restoreValues (rollback as a new change)', () => {
  it('produces a change that, once validated and applied, gives back the old revision', () => {
    const rev1 = { 'api.sessionSecret': 's1', 'api.port': 3000, 'api.corsOrigins': ['https://a.io'] }
    const rev2 = { 'api.sessionSecret': 's2', 'api.port': 8080, 'api.logLevel': 'debug', 'api.corsOrigins': ['https://a.io'] }
    const restore = restoreValues(rev2, rev1)
    expect(restore).toEqual({ set: { 'api.sessionSecret': 's1', 'api.port': 3000 }, unset: ['api.logLevel'] })
    const result = validateChange(demoSchema, { platform: rev2, machines: {} }, { target: { kind: 'platform' }, ...restore })
    expect(result.ok && result.next.platform).toEqual(rev1)
  })
})
