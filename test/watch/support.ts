import { request } from 'node:http'

export interface Reply { status: number, index: number, body: { service?: string, index?: number, settings?: Record<string, unknown>, error?: { code: string } } }

/** One GET of the watch API, over a service's Unix socket or over loopback HTTP with a token. */
export function get(target: { socketPath: string } | { url: string, token?: string }, query = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const where = 'socketPath' in target
      ? { socketPath: target.socketPath, path: `/v1/settings${query}` }
      : { ...urlParts(target.url), path: `/v1/settings${query}`, headers: target.token === undefined ? {} : { authorization: `Bearer ${target.token}` } }
    const req = request(where, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (c) => { text += c }).on('end', () => {
        resolve({ status: res.statusCode!, index: Number(res.headers['x-pryv-index']), body: JSON.parse(text) })
      })
    })
    req.on('error', reject).end()
  })
}

function urlParts(url: string): { host: string, port: number } {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port) }
}

export interface SseEvent { id: number, settings: Record<string, unknown> }

/** A server-sent-events client on a service's socket: collects every event; resumes from `lastEventId`. */
export class SseClient {
  readonly events: SseEvent[] = []
  private readonly req
  private readonly waiters = new Set<() => void>()

  constructor(socketPath: string, lastEventId?: number) {
    this.req = request({ socketPath, path: '/v1/settings', headers: { accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': String(lastEventId) }) } }, (res) => {
      let buffer = ''
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffer += chunk
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const id = /^id: ?(.*)$/m.exec(block)?.[1]
          const data = /^data: ?(.*)$/m.exec(block)?.[1]
          if (id === undefined || data === undefined) continue
          this.events.push({ id: Number(id), settings: JSON.parse(data).settings })
          for (const wake of this.waiters) wake()
        }
      }).on('error', () => {})
    })
    this.req.on('error', () => {}).end()
  }

  /** Waits until `count` events have arrived (or fails after `timeoutMs`). */
  async waitFor(count: number, timeoutMs = 20_000): Promise<SseEvent[]> {
    const deadline = Date.now() + timeoutMs
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`${this.events.length} of ${count} events after ${timeoutMs} ms: ${JSON.stringify(this.events)}`)
      await new Promise<void>((resolve) => {
        const wake = (): void => { this.waiters.delete(wake); resolve() }
        this.waiters.add(wake)
        setTimeout(wake, 200)
      })
    }
    return this.events
  }

  close(): void {
    this.req.destroy()
  }
}
