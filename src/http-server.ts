import type * as Http from 'node:http'
import type { RequestListener } from 'node:http'
import type * as Https from 'node:https'
import type { getRequestListener } from '@hono/node-server'
import { createRequire } from 'node:module'

// Node's HTTP modules are required, not imported: on Node 24 an ES import of node:http builds its
// module namespace, which reads the lazy WebSocket/CloseEvent/MessageEvent getters and so loads undici
// (with tls, http2 and zlib): about 13 MB resident in every node, whether or not a request arrives.
const require = createRequire(import.meta.url)

/** node:http, loaded without undici. */
export const http = require('node:http') as typeof Http

/** node:https, loaded (with tls, about 5 MB) only by a server that serves HTTPS. */
export function https(): typeof Https {
  return require('node:https') as typeof Https
}

/** A web app served through @hono/node-server: what a hono app is. */
export interface WebApp {
  readonly fetch: Parameters<typeof getRequestListener>[0]
}

/**
 * A request listener that serves `app` (built by `load`) through @hono/node-server, both loaded when
 * the first request arrives: a server binds its address at start-up (a bind error is reported then)
 * while hono, the adapter and the web Request/Response classes stay out of an idle node's memory.
 * `overrideGlobalObjects` is the adapter's option of that name. A failed load answers 500 and is
 * tried again at the next request.
 */
export function honoOnFirstRequest(load: () => Promise<WebApp>, options: { overrideGlobalObjects: boolean, onError: (err: Error) => void }): RequestListener {
  let loaded: RequestListener | undefined
  let loading: Promise<RequestListener> | undefined
  const loadListener = async (): Promise<RequestListener> => {
    const [{ getRequestListener }, app] = await Promise.all([import('@hono/node-server'), load()])
    return getRequestListener(app.fetch, { overrideGlobalObjects: options.overrideGlobalObjects }) as RequestListener
  }
  return (req, res) => {
    if (loaded) return void loaded(req, res)
    loading ??= loadListener()
    loading.then((listener) => {
      loaded = listener
      listener(req, res)
    }, (err: Error) => {
      loading = undefined
      options.onError(err)
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end('the server could not load its handlers\n')
      else res.destroy()
    })
  }
}
