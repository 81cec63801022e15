import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { honoOnFirstRequest, http, type WebApp } from '../../src/http-server.js'

const servers: import('node:http').Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
})

/** Serves `listener` on a loopback port; returns its URL. */
async function serve(listener: import('node:http').RequestListener): Promise<string> {
  const server = http.createServer(listener)
  servers.push(server)
  await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const app = (text: string): WebApp => ({ fetch: () => new Response(text) })

describe('a server whose app is loaded at the first request', () => {
  it('loads the app once, for requests arriving together and after', async () => {
    let loads = 0
    const url = await serve(honoOnFirstRequest(async () => {
      loads++
      await new Promise((r) => setTimeout(r, 50))
      return app('hello')
    }, { overrideGlobalObjects: false, onError: () => {} }))
    const first = await Promise.all([1, 2, 3].map(() => fetch(url).then((r) => r.text())))
    expect(first).toEqual(['hello', 'hello', 'hello'])
    expect(await (await fetch(url)).text()).toBe('hello')
    expect(loads).toBe(1)
  })

  it('answers 500 and reports when the app cannot be loaded, and tries again at the next request', async () => {
    const errors: string[] = []
    let loads = 0
    const url = await serve(honoOnFirstRequest(async () => {
      if (loads++ === 0) throw new Error('no such module')
      return app('loaded')
    }, { overrideGlobalObjects: false, onError: (err) => errors.push(err.message) }))
    const failed = await fetch(url)
    expect(failed.status).toBe(500)
    expect(errors).toEqual(['no such module'])
    expect(await (await fetch(url)).text()).toBe('loaded')
  })
})
