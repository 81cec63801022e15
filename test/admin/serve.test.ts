import { Resolver } from 'node:dns/promises'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { request } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { AdminClient } from './client.js'

const BASE = ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.0.1:0', '--dns', 'none']

function httpsGet(url: string): Promise<{ status: number, body: string, fingerprint: string }> {
  return new Promise((resolve, reject) => {
    // Self-signed: the test checks the fingerprint instead, as an operator would.
    const req = request(url, { rejectUnauthorized: false, agent: false }, (res) => {
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256
      let body = ''
      res.on('data', (d) => { body += d })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('where the admin server listens', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('serves a non-loopback address over HTTPS only, with a self-signed certificate whose fingerprint status shows, kept across restarts', async () => {
    const node = NodeProcess.start(tempDir(), [...BASE, '--admin', '0.0.0.0:0'])
    nodes.push(node)
    const url = (await node.ready()).admin as string
    expect(url).toMatch(/^https:\/\/localhost:\d+$/)
    const local = url.replace('localhost', '127.0.0.1')
    const status = JSON.parse((await runCli(['--data-dir', node.dataDir, 'status', '--json'])).stdout)
    const got = await httpsGet(`${local}/healthz`)
    expect(got).toEqual({ status: 200, body: 'ok\n', fingerprint: status.admin.fingerprint })
    await expect(fetch(`${local.replace('https:', 'http:')}/healthz`)).rejects.toThrow()
    const headers = await fetch(`${local}/healthz`).catch(() => undefined)
    expect(headers).toBeUndefined() // a client that checks certificates refuses the self-signed one
    expect(await node.stop()).toBe(0)
    const again = NodeProcess.start(node.dataDir, ['start', '--dns', 'none', '--admin', '0.0.0.0:0'])
    nodes.push(again)
    const url2 = ((await again.ready()).admin as string).replace('localhost', '127.0.0.1')
    expect((await httpsGet(`${url2}/healthz`)).fingerprint).toBe(status.admin.fingerprint)
  })

  it('serves nothing with --admin none, and says so when asked for a login link', async () => {
    const node = NodeProcess.start(tempDir(), [...BASE, '--admin', 'none'])
    nodes.push(node)
    expect((await node.ready()).admin).toBeUndefined()
    const r = await runCli(['--data-dir', node.dataDir, 'admin', 'login-link'])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('PRYV_ADMIN_DISABLED')
    expect(r.stderr).not.toContain('    at ')
  })

  it('refuses a malformed --admin (exit 2) and an explicit address in use (exit 7) before creating anything', async () => {
    const dir = tempDir()
    const bad = await runCli(['--data-dir', dir, ...BASE, '--admin', 'somewhere'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('PRYV_ADMIN_LISTEN_INVALID')
    expect(existsSync(join(dir, 'node.json'))).toBe(false)
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as { port: number }).port
    try {
      const busy = await runCli(['--data-dir', dir, ...BASE, '--admin', `127.0.0.1:${port}`])
      expect(busy.code).toBe(7)
      expect(busy.stderr).toContain('PRYV_PORT_IN_USE')
      expect(existsSync(join(dir, 'node.json'))).toBe(false)
    } finally {
      blocker.close()
    }
  })

  it('streams long-running work as server-sent events: follows a service\'s logs across a restart made through the API', async () => {
    const node = NodeProcess.start(tempDir(), [...BASE, '--admin', '127.0.0.1:0', '--services', 'process'])
    nodes.push(node)
    const url = (await node.ready()).admin as string
    const token = async (role: string) => JSON.parse((await runCli(['--data-dir', node.dataDir, 'admin', 'tokens', 'create', '--role', role, '--json'])).stdout).token as string
    const [viewer, operator] = [await token('viewer'), await token('operator')]
    await expect.poll(async () => JSON.stringify(JSON.parse((await runCli(['--data-dir', node.dataDir, 'services', '--json'])).stdout)), { timeout: 20_000 }).toContain('healthy')
    const abort = new AbortController()
    const res = await fetch(`${url}/api/v1/ops/services.logs`, { method: 'POST', headers: { authorization: `Bearer ${viewer}` }, body: JSON.stringify({ service: 'demo-api', follow: true }), signal: abort.signal })
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    let text = ''
    const waitFor = async (count: number): Promise<void> => {
      while ((text.match(/event: item\ndata: [^\n]*started pid/g) ?? []).length < count) {
        const { value, done } = await reader.read()
        if (done) throw new Error(`the stream ended: ${text}`)
        text += value
      }
    }
    await waitFor(1)
    const restart = await fetch(`${url}/api/v1/ops/services.restart`, { method: 'POST', headers: { authorization: `Bearer ${operator}` }, body: JSON.stringify({ service: 'demo-api' }) })
    expect(restart.status, await restart.text()).toBe(200)
    await waitFor(2)
    abort.abort()
    expect(await node.stop()).toBe(0)
  })
})

describe('the DNS page on a node that serves DNS', () => {
  let node: NodeProcess | undefined
  afterAll(async () => {
    await node?.kill()
    cleanupTempDirs()
  })

  it('points a user at a core from the page, which the node then answers, and counts its answers', async () => {
    node = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.0.1:0', '--dns', '127.0.0.1:0', '--admin', '127.0.0.1:0'])
    const ready = await node.ready()
    const link = JSON.parse((await runCli(['--data-dir', node.dataDir, 'admin', 'login-link', '--json'])).stdout)
    const owner = new AdminClient(ready.admin as string)
    expect((await owner.request('POST', '/api/v1/login/link', { link: new URL(link.url).searchParams.get('link') })).status).toBe(200)
    expect((await owner.request('POST', '/api/v1/password', { password: 'correct horse battery staple' })).status).toBe(200)
    const form = new URLSearchParams({ _csrf: owner.csrf!, action: 'set', user: 'alice-demo', core: 'core1' })
    const set = await fetch(`${owner.base}/dns`, { method: 'POST', headers: { cookie: owner.cookie!, 'content-type': 'application/x-www-form-urlencoded' }, body: form })
    expect(set.status).toBe(200)
    const resolver = new Resolver({ timeout: 2000, tries: 2 })
    resolver.setServers([(ready.dns as string[])[0]!])
    await expect.poll(async () => (await resolver.resolve4('alice-demo.pryv.test').catch(() => [])).length, { timeout: 10_000 }).toBeGreaterThan(0)
    // The DNS workers report their counters now and then: the page shows them once they did.
    const dnsPage = async () => (await fetch(`${owner.base}/dns`, { headers: { cookie: owner.cookie! } })).text()
    await expect.poll(async () => Number((await dnsPage()).match(/<td>queries A<\/td><td>(\d+)<\/td>/)?.[1] ?? 0), { timeout: 10_000 }).toBeGreaterThan(0)
    const page = await dnsPage()
    expect(page).toContain('Answers of core1 since it started')
    expect(page).not.toContain('serves no DNS')
  })
})
