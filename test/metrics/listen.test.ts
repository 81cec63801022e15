import { describe, expect, it } from 'vitest'
import { isOperatorError } from '../../src/errors.js'
import { formatAddress, isLoopback, parseMetricsListen } from '../../src/metrics/listen.js'

const refusal = (text: string): { code: string, exitCode: number, hint?: string } => {
  try {
    parseMetricsListen(text)
  } catch (err) {
    if (isOperatorError(err)) return { code: err.code, exitCode: err.exitCode, hint: err.hint }
    throw err
  }
  throw new Error(`"${text}" was accepted`)
}

describe('--metrics addresses: loopback only (nothing beyond loopback without the platform key)', () => {
  it.each([
    ['127.0.0.1:9464', { host: '127.0.0.1', port: 9464 }],
    ['127.1.2.3:0', { host: '127.1.2.3', port: 0 }],
    ['[::1]:9464', { host: '::1', port: 9464 }],
    ['localhost:9464', { host: '127.0.0.1', port: 9464 }],
    ['LOCALHOST:1', { host: '127.0.0.1', port: 1 }],
    ['[::ffff:127.0.0.1]:9464', { host: '::ffff:127.0.0.1', port: 9464 }],
    [' 127.0.0.1:9464 ', { host: '127.0.0.1', port: 9464 }]
  ])('accepts %s', (text, expected) => {
    expect(parseMetricsListen(text)).toEqual(expected)
  })

  it.each(['0.0.0.0:9464', '192.168.1.10:9464', '10.0.0.1:80', '[::]:9464', '[2001:db8::1]:9464', '[::ffff:10.0.0.1]:9464', 'example.com:9464', '128.0.0.1:9464'])(
    'refuses %s with PRYV_METRICS_NOT_LOOPBACK (exit 2) and a hint',
    (text) => {
      const r = refusal(text)
      expect(r).toMatchObject({ code: 'PRYV_METRICS_NOT_LOOPBACK', exitCode: 2 })
      expect(r.hint).toContain('127.0.0.1')
    }
  )

  it.each(['9464', '127.0.0.1', '127.0.0.1:', '127.0.0.1:65536', '::1:9464', '127.0.0.1:94a', ''])('refuses malformed %j with PRYV_METRICS_LISTEN_INVALID (exit 2)', (text) => {
    expect(refusal(text)).toMatchObject({ code: 'PRYV_METRICS_LISTEN_INVALID', exitCode: 2 })
  })

  it('isLoopback is for IP literals only', () => {
    expect(isLoopback('127.255.255.254')).toBe(true)
    expect(isLoopback('::1')).toBe(true)
    expect(isLoopback('localhost')).toBe(false)
    expect(isLoopback('::')).toBe(false)
  })

  it('formats IPv6 with brackets', () => {
    expect(formatAddress({ host: '::1', port: 9464 })).toBe('[::1]:9464')
    expect(formatAddress({ host: '127.0.0.1', port: 9464 })).toBe('127.0.0.1:9464')
  })
})
