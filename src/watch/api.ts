import type { Context } from 'hono'
import { Hono } from 'hono'
import { streamSSE } from 'hono/streaming'
import type { WatchEntry, WatchHub } from './hub.js'

/** Header carrying the index (platform revision) of the settings returned, as Consul's X-Consul-Index. */
export const INDEX_HEADER = 'X-Pryv-Index'
const DEFAULT_WAIT_MS = 5 * 60_000
const MAX_WAIT_MS = 10 * 60_000
/** A comment line this often on an idle stream: proxies keep it open, a gone client is noticed. */
const KEEPALIVE_MS = 25_000

export interface WatchAppOptions {
  readonly hub: WatchHub
  /** The service a request may read: the socket's own, or the one its token names; undefined = refused. */
  readonly serviceOf: (authorization: string | undefined) => string | undefined
}

/**
 * `GET /v1/settings`: the service's settings and their index; `?index=N&wait=60s` blocks until the
 * service's settings change past N (or the wait ends: same index); `Accept: text/event-stream` streams
 * every change, event id = index, resumed from `Last-Event-ID`.
 */
export function watchApp(options: WatchAppOptions): Hono {
  const { hub } = options
  const app = new Hono()
  app.get('/v1/settings', async (c) => {
    const service = options.serviceOf(c.req.header('authorization'))
    if (service === undefined) return problem(c, 401, 'PRYV_WATCH_UNAUTHORIZED', 'No valid service token.', 'Send the token of the service (its watch/access.json) as "Authorization: Bearer <token>".')
    if (!hub.has(service)) return problem(c, 404, 'PRYV_WATCH_SERVICE_UNKNOWN', `The release in force has no service ${service}.`, 'Wait for the node to render the release that runs it.')
    const index = parseIndex(c.req.query('index') ?? c.req.header('last-event-id'))
    if (index === null) return problem(c, 400, 'PRYV_WATCH_BAD_INDEX', 'index must be a whole number.', 'Pass the X-Pryv-Index (or event id) of the last settings read.')
    if ((c.req.header('accept') ?? '').includes('text/event-stream')) return stream(c, hub, service, index)
    const wait = parseWait(c.req.query('wait'))
    if (wait === null) return problem(c, 400, 'PRYV_WATCH_BAD_WAIT', 'wait must be a duration such as 500ms, 60s or 5m.', `At most ${MAX_WAIT_MS / 60_000}m.`)
    if (index === undefined) return reply(c, service, hub.current(service)!)
    const entry = await hub.wait(service, index, AbortSignal.any([AbortSignal.timeout(wait), c.req.raw.signal]))
    // At the timeout: the same index, the current settings (Consul's blocking queries do the same).
    return reply(c, service, entry ?? hub.current(service)!)
  })
  app.notFound((c) => problem(c, 404, 'PRYV_WATCH_NOT_FOUND', 'No such endpoint.', 'GET /v1/settings'))
  return app
}

function reply(c: Context, service: string, entry: WatchEntry): Response {
  c.header(INDEX_HEADER, String(entry.index))
  c.header('Cache-Control', 'no-store')
  return c.json(body(service, entry))
}

function body(service: string, entry: WatchEntry): { service: string; index: number; settings: Readonly<Record<string, unknown>> } {
  return { service, index: entry.index, settings: entry.settings }
}

function stream(c: Context, hub: WatchHub, service: string, from: number | undefined): Response {
  c.header('Cache-Control', 'no-store')
  return streamSSE(c, async (sse) => {
    const closed = new AbortController()
    sse.onAbort(() => closed.abort())
    const keepalive = setInterval(() => void sse.write(': keepalive\n\n').catch(() => closed.abort()), KEEPALIVE_MS)
    try {
      // A new stream starts with the current settings; a resumed one with the first change it missed.
      let sent = from ?? hub.current(service)!.index - 1
      while (!closed.signal.aborted) {
        const entry = await hub.wait(service, sent, closed.signal)
        if (!entry) break
        await sse.writeSSE({ event: 'settings', id: String(entry.index), data: JSON.stringify(body(service, entry)) })
        sent = entry.index
      }
    } finally {
      clearInterval(keepalive)
    }
  })
}

function problem(c: Context, status: 400 | 401 | 404, code: string, message: string, hint: string): Response {
  return c.json({ error: { code, message, hint } }, status)
}

/** undefined: none given; null: not a whole number. */
function parseIndex(text: string | undefined): number | undefined | null {
  if (text === undefined || text === '') return undefined
  return /^\d{1,15}$/.test(text) ? Number(text) : null
}

function parseWait(text: string | undefined): number | null {
  if (text === undefined || text === '') return DEFAULT_WAIT_MS
  const m = /^(\d{1,7})(ms|s|m)?$/.exec(text)
  if (!m) return null
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000)
  return Math.min(ms, MAX_WAIT_MS)
}
