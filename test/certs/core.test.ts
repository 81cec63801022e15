import { describe, expect, it } from 'vitest'
import { challengeName } from '../../src/certs/challenges.js'
import { parseRetryAfter, renewAt, retryDelayMs } from '../../src/certs/policy.js'
import { certsSettings } from '../../src/certs/settings.js'
import { covers } from '../../src/certs/x509.js'
import { parseManifest } from '../../src/release/manifest.js'
import { FileProblems } from '../../src/release/problems.js'
import type { ReleaseProblem } from '../../src/release/errors.js'
import { certificateOf, renewalOf } from '../../src/state/certs.js'
import { parseCommand, type StampedCommand } from '../../src/state/commands.js'
import { applyCommand } from '../../src/state/machine.js'
import { emptyState, type PlatformState } from '../../src/state/types.js'

const DAY = 86_400_000

describe('when to renew and when to retry', () => {
  it('renews 30 days before the end of a 90-day certificate, at two thirds of a short-lived one, and never later than its window', () => {
    expect(renewAt({ notBefore: 0, notAfter: 90 * DAY }, 30)).toBe(60 * DAY)
    expect(renewAt({ notBefore: 0, notAfter: 6 * DAY }, 30)).toBe(4 * DAY)
    expect(renewAt({ notBefore: 0, notAfter: 365 * DAY }, 30)).toBe(335 * DAY)
  })

  it('backs off exponentially with jitter, up to 6 h, and never retries before Retry-After', () => {
    expect(retryDelayMs(1, 0.5)).toBe(5_000)
    expect(retryDelayMs(3, 0.5)).toBe(20_000)
    expect(retryDelayMs(3, 0)).toBe(15_000)
    expect(retryDelayMs(3, 1)).toBe(25_000)
    expect(retryDelayMs(40, 0.5)).toBe(6 * 3_600_000)
    expect(retryDelayMs(1, 0.5, 3_600_000)).toBe(3_600_000)
    expect(parseRetryAfter('120', 0)).toBe(120_000)
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:01:00 GMT', 0)).toBe(60_000)
    expect(parseRetryAfter('soon', 0)).toBeUndefined()
  })
})

describe('names', () => {
  it('defaults to the domain and its wildcard, and the same for each alias domain', () => {
    expect(certsSettings({ 'dns.aliasDomains': ['pryv.me'] }, 'pryv.test').names).toEqual(['pryv.test', '*.pryv.test', 'pryv.me', '*.pryv.me'])
    expect(certsSettings({ 'certs.names': ['api.pryv.test'] }, 'pryv.test').names).toEqual(['api.pryv.test'])
  })

  it('puts each challenge at its name relative to the platform domain (alias domains answer like it) and refuses names it does not serve', () => {
    expect(challengeName('*.pryv.test', 'pryv.test', [])).toBe('_acme-challenge')
    expect(challengeName('pryv.test', 'pryv.test', [])).toBe('_acme-challenge')
    expect(challengeName('reg.pryv.test', 'pryv.test', [])).toBe('_acme-challenge.reg')
    expect(challengeName('*.pryv.me', 'pryv.test', ['pryv.me'])).toBe('_acme-challenge')
    expect(() => challengeName('other.test', 'pryv.test', [])).toThrow(/not under pryv\.test/)
  })

  it('a wildcard covers one label only', () => {
    expect(covers('*.pryv.test', 'alice.pryv.test')).toBe(true)
    expect(covers('*.pryv.test', 'pryv.test')).toBe(false)
    expect(covers('*.pryv.test', 'a.b.pryv.test')).toBe(false)
    expect(covers('*.pryv.test', '*.pryv.test')).toBe(true)
  })
})

describe('the release declares where a service reads the certificate', () => {
  const manifest = (certificate: unknown) => {
    const sink: ReleaseProblem[] = []
    const m = parseManifest({ name: 'x', version: '1.0.0', services: { web: { command: 'true', certificate } } }, new FileProblems('release.yaml', sink))
    return { service: m.services[0], problems: sink.map((p) => `${p.field}: ${p.message}`) }
  }
  it('takes two paths under conf/ and refuses anything else', () => {
    expect(manifest({ chain: 'conf/secret/{domain}.crt', key: 'conf/secret/{domain}.key' }).service?.certificate).toEqual({ chain: 'conf/secret/{domain}.crt', key: 'conf/secret/{domain}.key' })
    expect(manifest({ chain: '../etc/passwd', key: 'conf/k' }).problems).toEqual(["services.web.certificate.chain: must be a path under conf/ of the service's directory, got \"../etc/passwd\""])
    expect(manifest({ chain: 'conf/a', key: 'conf/a' }).problems).toEqual(['services.web.certificate: chain and key must be different files'])
    expect(manifest('conf/a').problems[0]).toMatch(/^services\.web\.certificate: must be a map with chain and key/)
  })
})

describe('the renewal lease in the replicated state', () => {
  const cert = { names: ['pryv.test'], chainPem: 'C', keyPem: 'K', issuer: 'I', serial: '01', notBefore: 0, notAfter: 90 * DAY, source: 'acme' as const }
  const platform = (): PlatformState => {
    const s = emptyState()
    applyCommand(s, { kind: 'platform.create', id: 'p', domain: 'pryv.test', founder: { peerId: 'A', name: 'core1', role: 'full', addresses: [] }, at: 0, author: 'A' })
    applyCommand(s, { kind: 'invite.create', id: 'inv', tokenHash: 'h', role: 'full', expiresAt: 100, uses: 1, at: 1, author: 'A' })
    applyCommand(s, { kind: 'member.join', inviteId: 'inv', member: { peerId: 'B', name: 'core2', role: 'full', addresses: [] }, at: 2, author: 'A' })
    return s
  }
  const run = (s: PlatformState, c: Record<string, unknown>) => applyCommand(s, parseCommand(c) as StampedCommand).result

  it('one holder at a time; another takes over only once the lease ends or the holder is down; only the holder records progress', () => {
    const s = platform()
    expect(run(s, { kind: 'certs.lease', until: 1000, reason: 'due', at: 10, author: 'A' })).toMatchObject({ ok: true })
    expect(run(s, { kind: 'certs.lease', until: 2000, reason: 'due', at: 20, author: 'B' })).toMatchObject({ ok: false, code: 'PRYV_CERTS_BUSY' })
    expect(run(s, { kind: 'certs.progress', order: { url: 'o1', directoryUrl: 'd', names: ['pryv.test'], keyPem: 'K' }, orderPlaced: true, at: 30, author: 'B' })).toMatchObject({ ok: false, code: 'PRYV_CERTS_NOT_HOLDER' })
    expect(run(s, { kind: 'certs.progress', order: { url: 'o1', directoryUrl: 'd', names: ['pryv.test'], keyPem: 'K' }, orderPlaced: true, at: 30, author: 'A' })).toMatchObject({ ok: true })
    // A's node is down: B takes over and finds A's order to resume.
    expect(run(s, { kind: 'certs.lease', until: 2000, reason: 'due', takeover: true, at: 40, author: 'B' })).toMatchObject({ ok: true, value: { order: true } })
    expect(run(s, { kind: 'certs.done', certificate: { names: ['x'], chainPem: 'C', keyPem: 'K', issuer: 'I', serial: '02', notBefore: 0, notAfter: 1, source: 'acme' }, at: 50, author: 'A' })).toMatchObject({ ok: false, code: 'PRYV_CERTS_NOT_HOLDER' })
    expect(run(s, { kind: 'certs.done', certificate: cert, at: 60, author: 'B' })).toMatchObject({ ok: true })
    expect(certificateOf(s)).toMatchObject({ serial: '01', installedAt: 60 })
    expect(renewalOf(s)).toEqual({ failures: 0, failed: 0, orders: 1, issued: 1, lastAttempt: { at: 60, by: 'core2', ok: true } })
    // After the lease ends, anyone may take it.
    expect(run(s, { kind: 'certs.lease', until: 3000, reason: 'due', at: 70, author: 'A' })).toMatchObject({ ok: true })
  })

  it('a failure keeps the order for the next attempt, counts, and sets the next attempt time; an import ends the backoff', () => {
    const s = platform()
    run(s, { kind: 'certs.lease', until: 1000, reason: 'due', at: 10, author: 'A' })
    run(s, { kind: 'certs.progress', order: { url: 'o1', directoryUrl: 'd', names: ['pryv.test'], keyPem: 'K' }, orderPlaced: true, at: 20, author: 'A' })
    expect(run(s, { kind: 'certs.done', error: { message: 'rate limited', problem: { type: 'urn:ietf:params:acme:error:rateLimited' } }, nextAttemptAt: 5000, keepOrder: true, at: 30, author: 'A' })).toMatchObject({ ok: true })
    expect(renewalOf(s).holder).toBeUndefined()
    expect(renewalOf(s)).toMatchObject({ order: { url: 'o1' }, failures: 1, failed: 1, nextAttemptAt: 5000, lastAttempt: { ok: false, error: { message: 'rate limited' } } })
    expect(run(s, { kind: 'certs.import', certificate: { ...cert, source: 'import' }, at: 40, author: 'B' })).toMatchObject({ ok: true })
    expect(renewalOf(s)).toMatchObject({ failures: 0, failed: 1 })
    expect(renewalOf(s).nextAttemptAt).toBeUndefined()
    expect(() => parseCommand({ kind: 'certs.import', certificate: { names: [] }, at: 1, author: 'A' })).toThrow(/certificate\.names/)
  })
})
