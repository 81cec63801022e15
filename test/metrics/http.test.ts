import { request, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { isOperatorError } from '../../src/errors.js'
import { closeServer, probeMetricsAddress, serveMetrics } from '../../src/metrics/http.js'

const TEXT = '# HELP pryv_x An example.\n# TYPE pryv_x gauge\npryv_x 1\n'
const render = async (): Promise<{ contentType: string, text: string }> => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', text: TEXT })

function get(port: number, path: string, opts: { method?: string, host?: string } = {}): Promise<{ status: number, type?: string, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.host ? { host: opts.host } : {} }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('the HTTP metrics endpoint', () => {
  const servers: Server[] = []
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer))
  })
  const start = async (): Promise<number> => {
    const s = await serveMetrics({ host: '127.0.0.1', port: 0 }, render, () => {})
    servers.push(s)
    return (s.address() as { port: number }).port
  }

  it('serves GET /metrics (query strings ignored), 404 elsewhere, 405 for other methods', async () => {
    const port = await start()
    expect(await get(port, '/metrics')).toEqual({ status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: TEXT })
    expect((await get(port, '/metrics?x=1')).status).toBe(200)
    expect((await get(port, '/metrics', { method: 'HEAD' })).body).toBe('')
    expect((await get(port, '/')).status).toBe(404)
    expect((await get(port, '/metrics/x')).status).toBe(404)
    expect((await get(port, '/metrics', { method: 'POST' })).status).toBe(405)
  })

  it('refuses requests for other host names (DNS rebinding from a local browser)', async () => {
    const port = await start()
    expect((await get(port, '/metrics', { host: `localhost:${port}` })).status).toBe(200)
    expect((await get(port, '/metrics', { host: '[::1]' })).status).toBe(200)
    expect((await get(port, '/metrics', { host: `attacker.example:${port}` })).status).toBe(421)
    expect((await get(port, '/metrics', { host: '10.0.0.1' })).status).toBe(421)
  })

  it('a port in use: PRYV_PORT_IN_USE, exit code 7, with a hint; the early probe says the same', async () => {
    const port = await start()
    const failure = await serveMetrics({ host: '127.0.0.1', port }, render, () => {}).then(() => undefined, (err: unknown) => err)
    expect(isOperatorError(failure) && { code: failure.code, exitCode: failure.exitCode, hint: Boolean(failure.hint) }).toEqual({ code: 'PRYV_PORT_IN_USE', exitCode: 7, hint: true })
    const probed = await probeMetricsAddress({ host: '127.0.0.1', port }).then(() => undefined, (err: unknown) => err)
    expect(isOperatorError(probed) && probed.code).toBe('PRYV_PORT_IN_USE')
    await expect(probeMetricsAddress({ host: '127.0.0.1', port: 0 })).resolves.toBeUndefined()
  })

  it('never listens beyond loopback, whatever it is given', async () => {
    await expect(serveMetrics({ host: '0.0.0.0', port: 0 }, render, () => {})).rejects.toThrow(/not loopback/)
  })
})
