import { describe, expect, it } from 'vitest'
import { type PlannedAction, plan, type ServiceSpec, type ServiceStatus, specHash } from '../../src/runtime/index.js'

const web: ServiceSpec = { name: 'web', image: 'pryvio/core:1.9.2', command: 'node', args: ['server.js'] }
const dns: ServiceSpec = { name: 'dns', image: 'pryvio/dns:1.9.2' }

function actual(spec: ServiceSpec, more: Partial<ServiceStatus> = {}): ServiceStatus {
  return {
    name: spec.name,
    state: 'running',
    health: 'none',
    exitCode: null,
    startedAt: new Date(0),
    restartCount: 0,
    specHash: specHash(spec),
    ...more
  }
}

const summary = (actions: PlannedAction[]): string[] => actions.map((a) => `${a.kind} ${a.service}${a.drift ? ' (drift)' : ''}`)

describe('plan', () => {
  const cases: { name: string; desired: ServiceSpec[]; actual: ServiceStatus[]; changed?: string[]; want: string[] }[] = [
    { name: 'nothing desired, nothing there', desired: [], actual: [], want: [] },
    { name: 'creates what is missing', desired: [web, dns], actual: [], want: ['create web', 'create dns'] },
    { name: 'leaves an up-to-date service alone', desired: [web], actual: [actual(web)], want: ['nothing web'] },
    {
      name: 'recreates when the spec hash differs',
      desired: [{ ...web, env: { LOG: 'debug' } }],
      actual: [actual(web)],
      want: ['recreate web']
    },
    {
      name: 'recreation wins over a config change',
      desired: [{ ...web, args: ['other.js'] }],
      actual: [actual(web)],
      changed: ['web'],
      want: ['recreate web']
    },
    { name: 'restarts a running service whose config changed', desired: [web, dns], actual: [actual(web), actual(dns)], changed: ['dns'], want: ['nothing web', 'restart dns'] },
    { name: 'starts an exited service, as drift', desired: [web], actual: [actual(web, { state: 'exited', exitCode: 137 })], want: ['start web (drift)'] },
    { name: 'an exited service with changed config is just started', desired: [web], actual: [actual(web, { state: 'exited', exitCode: 0 })], changed: ['web'], want: ['start web (drift)'] },
    { name: 'starts a created service', desired: [web], actual: [actual(web, { state: 'created', startedAt: null })], want: ['start web'] },
    { name: 'a restarting service is left to its policy', desired: [web], actual: [actual(web, { state: 'restarting', exitCode: 1 })], want: ['nothing web'] },
    { name: 'removes what is no longer desired, first', desired: [web], actual: [actual(web), actual(dns)], want: ['remove dns', 'nothing web'] },
    { name: 'stops a service desired stopped', desired: [{ ...web, desiredState: 'stopped' }], actual: [actual(web)], want: ['stop web'] },
    {
      name: 'a stopped service desired stopped stays',
      desired: [{ ...web, desiredState: 'stopped' }],
      actual: [actual(web, { state: 'exited', exitCode: 143 })],
      want: ['nothing web']
    },
    { name: 'desiredState does not change the spec hash', desired: [{ ...web, desiredState: 'running' }], actual: [actual(web)], want: ['nothing web'] }
  ]

  for (const c of cases) {
    it(c.name, () => {
      expect(summary(plan(c.desired, c.actual, { configChanged: new Set(c.changed) }))).toEqual(c.want)
    })
  }

  it('explains each action in a sentence', () => {
    const [action] = plan([{ ...web, env: { A: '1' } }], [actual(web)])
    expect(action!.reason).toMatch(/^its definition changed \(spec [0-9a-f]{16} → [0-9a-f]{16}\)$/)
    expect(plan([web], [actual(web, { state: 'exited', exitCode: 137 })])[0]!.reason).toBe('exited with code 137 but should run')
  })

  it('rejects a service defined twice', () => {
    expect(() => plan([web, web], [])).toThrow(expect.objectContaining({ code: 'PRYV_RUNTIME_INVALID_SPEC' }))
  })
})

describe('specHash', () => {
  it('ignores key order and absent fields', () => {
    expect(specHash({ name: 'a', image: 'i', env: { X: '1', Y: '2' } })).toBe(specHash({ env: { Y: '2', X: '1' }, image: 'i', name: 'a', args: undefined }))
  })

  it('changes with anything that shapes the service', () => {
    const base: ServiceSpec = { name: 'a', image: 'i' }
    const variants: ServiceSpec[] = [
      { ...base, image: 'j' },
      { ...base, args: ['x'] },
      { ...base, env: { X: '1' } },
      { ...base, configDir: '/c' },
      { ...base, ports: [{ container: 80 }] },
      { ...base, health: { probe: { kind: 'tcp', port: 80 } } },
      { ...base, restart: { policy: 'no' } }
    ]
    const hashes = new Set([base, ...variants].map(specHash))
    expect(hashes.size).toBe(variants.length + 1)
  })
})
