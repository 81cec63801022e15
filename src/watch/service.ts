import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises'
import type { Server } from 'node:http'
import { join } from 'node:path'
import type { SettingsValues } from '../config/layers.js'
import type { Schema } from '../config/schema.js'
import { honoOnFirstRequest, http, type WebApp } from '../http-server.js'
import type { Logger } from '../log.js'
import { WATCH_DIR, WATCH_FILE, WATCH_SOCKET } from '../runtime/constants.js'
import { serviceSettings } from './content.js'
import { WatchHub, type WatchMark } from './hub.js'

/** sun_path holds 108 bytes on Linux, 104 on macOS. */
const MAX_SOCKET_PATH = 103
/** In the data dir: each service's index and content digest, so that a restart wakes no watcher. */
const MARKS_FILE = 'watch-index.json'

/** What the settings service publishes after each change of the settings or the release. */
export interface EffectiveUpdate {
  /** Revision of the last settings or release change. */
  readonly settingsRevision: number
  /** State revision rendered. */
  readonly revision: number
  readonly schema: Schema
  readonly values: SettingsValues
  readonly services: readonly string[]
}

interface Served {
  readonly token: Buffer
  readonly socket?: Server
}

/**
 * The node's watch API (src/watch/api.ts): one Unix socket per service in its directory, and one
 * loopback HTTP server where a service's token (in its watch/access.json) says which service it is.
 */
export class WatchService {
  readonly hub: WatchHub
  private http?: Server
  private readonly served = new Map<string, Served>()
  /** sha256 of a token → service: the lookup compares digests of equal length. */
  private readonly tokens = new Map<string, string>()
  private queue: Promise<void> = Promise.resolve()
  private savedMarks: string

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger
  ) {
    this.savedMarks = readMarks(join(dataDir, MARKS_FILE), log)
    const marks = Object.entries(JSON.parse(this.savedMarks) as Record<string, Partial<WatchMark>>)
      .filter((e): e is [string, WatchMark] => typeof e[1]?.index === 'number' && typeof e[1].digest === 'string')
    this.hub = new WatchHub(new Map(marks))
  }

  /** `http://127.0.0.1:PORT` once started. */
  get url(): string | undefined {
    const a = this.http?.address()
    return a && typeof a === 'object' ? `http://127.0.0.1:${a.port}` : undefined
  }

  async stop(): Promise<void> {
    const servers = [this.http, ...[...this.served.values()].map((s) => s.socket)]
    this.http = undefined
    this.served.clear()
    this.tokens.clear()
    await Promise.all(servers.map((server) => server && close(server)))
  }

  /**
   * Publishes the services' new settings, serving new services first (their socket exists before they
   * start). Updates are applied one after the other, in the order given.
   */
  update(update: EffectiveUpdate): Promise<void> {
    const next = this.queue.then(() => this.apply(update))
    this.queue = next.catch(() => undefined)
    return next
  }

  private async apply(update: EffectiveUpdate): Promise<void> {
    for (const service of update.services) {
      if (!this.served.has(service)) await this.serve(service)
    }
    for (const [service, served] of this.served) {
      if (update.services.includes(service)) continue
      this.served.delete(service)
      for (const [key, name] of this.tokens) if (name === service) this.tokens.delete(key)
      if (served.socket) await close(served.socket)
    }
    const contents = new Map(update.services.map((s) => [s, serviceSettings(update.schema, update.values, s)]))
    this.hub.publish(update.settingsRevision, update.revision, contents)
    const marks = JSON.stringify(this.hub.currentMarks())
    if (marks !== this.savedMarks) {
      const file = join(this.dataDir, MARKS_FILE)
      await writeFile(`${file}.tmp`, marks, { mode: 0o600 })
      await rename(`${file}.tmp`, file)
      this.savedMarks = marks
    }
  }

  private async serve(service: string): Promise<void> {
    if (!this.http) {
      this.http = await this.listen((authorization) => this.serviceOfToken(authorization), { host: '127.0.0.1', port: 0 })
      this.log.info({ url: this.url }, 'serving the watch API')
    }
    const dir = join(this.dataDir, 'services', service)
    await mkdir(join(dir, WATCH_DIR), { recursive: true })
    const token = randomBytes(32)
    this.tokens.set(digest(token.toString('base64url')), service)
    const path = join(dir, WATCH_SOCKET)
    let socket: Server | undefined
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      this.log.warn({ service, path }, 'the watch socket path is too long for a Unix socket: the service can use the loopback HTTP form only')
    } else {
      await rm(path, { force: true })
      socket = await this.listen(() => service, { path })
      await chmod(path, 0o660)
    }
    this.served.set(service, { token, ...(socket ? { socket } : {}) })
    const file = join(dir, WATCH_FILE)
    await writeFile(file, `${JSON.stringify({ url: this.url, token: token.toString('base64url'), socket: socket ? path : null })}\n`, { mode: 0o600 })
    await chmod(file, 0o600)
  }

  private serviceOfToken(authorization: string | undefined): string | undefined {
    const m = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(authorization ?? '')
    if (!m) return undefined
    const service = this.tokens.get(digest(m[1]!))
    const expected = service === undefined ? undefined : this.served.get(service)?.token
    // The map lookup is on a digest; the final comparison is in constant time.
    return expected && timingSafeEqual(expected, Buffer.from(m[1]!, 'base64url')) ? service : undefined
  }

  private async listen(serviceOf: (authorization: string | undefined) => string | undefined, where: { host: string; port: number } | { path: string }): Promise<Server> {
    // hono is loaded when the first request arrives, not on the node's start-up path before that.
    const app = async (): Promise<WebApp> => (await import('./api.js')).watchApp({ hub: this.hub, serviceOf })
    const server = http.createServer(honoOnFirstRequest(app, { overrideGlobalObjects: false, onError: (err) => this.log.error({ err: err.stack ?? String(err) }, 'the watch API could not be loaded') }))
    server.headersTimeout = 10_000
    // Blocking queries and streams stay open: no request timeout.
    server.requestTimeout = 0
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(where, () => {
        server.off('error', reject)
        resolve()
      })
    })
    server.on('error', (err) => this.log.warn({ err: err.message }, 'watch API error'))
    return server
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function close(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}

/** The marks saved by the node's previous run, as JSON text; `{}` when none (or unreadable: every watcher wakes once). */
function readMarks(file: string, log: Logger): string {
  try {
    const text = readFileSync(file, 'utf8')
    const parsed = JSON.parse(text) as unknown
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return text
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '{}'
  }
  log.warn({ file }, 'the watch API index file is damaged: watchers will be woken once with their current settings')
  return '{}'
}
