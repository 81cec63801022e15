import type { Socket as UdpSocket } from 'node:dgram'
import { statSync } from 'node:fs'
import type { Server, Socket } from 'node:net'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { compileZone } from './compile.js'
import type { CompiledZone } from './zone.js'
import {
  DEFAULT_MAX_TCP_CONNECTIONS,
  DEFAULT_MAX_UDP_PAYLOAD,
  DEFAULT_TCP_CONNECTIONS_PER_SOURCE,
  DEFAULT_TCP_IDLE_TIMEOUT_MS,
  DEFAULT_UDP_RECV_BUFFER_SIZE
} from './constants.js'
import { addSnapshots, DnsCounters, type DnsCountersSnapshot } from './counters.js'
import { DnsListenError, ZoneSpecError } from './errors.js'
import type { ListenAddress } from './listen-address.js'
import type { RespondContext } from './respond.js'
import { DEFAULT_RATE_LIMIT, type RateLimitConfig, RateLimiter } from './rrl.js'
import { type RateLimitEvent, RateLimitLog } from './rrl-log.js'
import { closeTcp, listenTcp, type TcpOptions, type TcpSources } from './tcp.js'
import { bindUdp, closeUdp, udpReusePortSupported } from './udp.js'
import type { FromWorker, ToWorker, ZoneTransfer } from './worker-messages.js'
import type { ZoneSpec } from './zone-spec.js'

export interface DnsServerInit {
  /** Source of weighted draws in the main thread; inject a seeded one in tests. Default Math.random. */
  random?: () => number
  /** Clock for ACME expiry (epoch ms). Default Date.now. */
  now?: () => number
  /** EDNS payload size advertised and used as the UDP reply cap. Default 1232. */
  maxUdpPayload?: number
  /** TCP connections idle longer than this are closed. Default 10 000. */
  tcpIdleTimeoutMs?: number
  /** Concurrent TCP connections per listener. Default 1000. */
  maxTcpConnections?: number
  /** Concurrent TCP connections per client address. Default 10. */
  tcpConnectionsPerSource?: number
  /** UDP response rate limiting (src/dns/rrl.ts). Default NSD's: 200/s per /24 and /64, slip 2. */
  rateLimit?: RateLimitConfig
  /** A prefix started or stopped being rate-limited (lines already rate-limited). */
  onRateLimit?: (e: RateLimitEvent) => void
  /**
   * UDP sockets per UDP address, one per thread (the main thread plus workers), sharing the
   * port with SO_REUSEPORT. Needs dgram `reusePort` (Node ≥ 22.12 on Linux) and the compiled
   * build (dist/dns/worker.js); otherwise 1. "auto" = availableParallelism(). Default 1.
   */
  udpThreads?: number | 'auto'
  /**
   * Starts the extra UDP threads only when the main thread's UDP load asks for them, and stops them
   * when it has stayed low: each thread is a V8 isolate of its own (≈ 14 MB resident), which an
   * idle node need not pay for. Default: every thread starts with the server.
   */
  threadsOnDemand?: ThreadDemand
  /** SO_RCVBUF of each UDP socket, capped by the kernel (net.core.rmem_max). Default 4 MiB. */
  recvBufferSize?: number
  /** Socket errors and exceptions from the request path (the packet is dropped). */
  onError?: (err: Error) => void
}

/** When the extra UDP threads run (DnsServerInit.threadsOnDemand). */
export interface ThreadDemand {
  /** One more thread when the UDP queries per second, estimated over every running thread, reach this. */
  startAtQps: number
  /** Every extra thread stops once the estimated rate has stayed below this for stopAfterMs. */
  stopBelowQps: number
  stopAfterMs: number
}

/**
 * A thread answers ~80k queries per CPU-second (bench/dns/RESULTS-dns.md): 2,000 q/s is a few per
 * cent of a core, well below what would slow the main thread's other work, and far above what an
 * idle platform's resolvers send.
 */
export const DEFAULT_THREAD_DEMAND: ThreadDemand = { startAtQps: 2000, stopBelowQps: 200, stopAfterMs: 5 * 60_000 }

/** The limits that can change while the server runs (from the `dns.*` settings). */
export interface DnsLimits {
  maxUdpPayload: number
  tcpIdleTimeoutMs: number
  tcpConnectionsPerSource: number
  rateLimit: RateLimitConfig
}

export interface DnsListenSpec {
  udp?: ListenAddress[]
  tcp?: ListenAddress[]
}

export interface DnsBound {
  udp: ListenAddress[]
  tcp: ListenAddress[]
  /** UDP sockets per UDP address actually running (1 without reusePort). */
  udpThreads: number
}

interface WorkerHandle {
  worker: Worker
  counters: DnsCountersSnapshot | undefined
}

/**
 * Authoritative server for one compiled zone. start() binds, setZone() swaps one reference
 * (requests in flight finish on the old zone), stop() closes everything. Startable-style.
 */
export class DnsServer {
  private readonly counters_ = new DnsCounters()
  private readonly ctx: RespondContext
  private readonly init: Required<Omit<DnsServerInit, 'random' | 'rateLimit' | 'threadsOnDemand'>>
  private readonly limiter: RateLimiter
  private readonly rateLimitLog: RateLimitLog
  private readonly tcpOpts: TcpOptions
  private readonly tcpSources: TcpSources = new Map()
  private sweepTimer: NodeJS.Timeout | undefined
  /** The last limits applied, to skip the settings changes that leave them as they are. */
  private limitsText = ''
  private readonly health = new Map<string, boolean>()
  private udp: UdpSocket[] = []
  private tcp: Server[] = []
  private readonly connections = new Set<Socket>()
  private workers: WorkerHandle[] = []
  /** UDP threads the server may run (main thread included), and where their sockets bind. */
  private maxThreads = 1
  private udpAddresses: ListenAddress[] = []
  private readonly demand: ThreadDemand | undefined
  private demandTimer: NodeJS.Timeout | undefined
  /** Requests the main thread had handled at the last look, and when. */
  private lastLoad = { handled: 0, atMs: 0 }
  private quietSinceMs: number | undefined
  /** A thread being started or threads being stopped on demand. */
  private changing: Promise<void> | undefined
  /** Final counters of stopped workers. */
  private retired: DnsCountersSnapshot | undefined
  private expiryTimer: NodeJS.Timeout | undefined

  constructor(zone: CompiledZone, init: DnsServerInit = {}) {
    this.init = {
      now: init.now ?? Date.now,
      maxUdpPayload: init.maxUdpPayload ?? DEFAULT_MAX_UDP_PAYLOAD,
      tcpIdleTimeoutMs: init.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS,
      maxTcpConnections: init.maxTcpConnections ?? DEFAULT_MAX_TCP_CONNECTIONS,
      tcpConnectionsPerSource: init.tcpConnectionsPerSource ?? DEFAULT_TCP_CONNECTIONS_PER_SOURCE,
      onRateLimit: init.onRateLimit ?? (() => {}),
      udpThreads: init.udpThreads ?? 1,
      recvBufferSize: init.recvBufferSize ?? DEFAULT_UDP_RECV_BUFFER_SIZE,
      onError: init.onError ?? (() => {})
    }
    this.ctx = {
      zone,
      random: init.random ?? Math.random,
      counters: this.counters_,
      maxUdpPayload: this.init.maxUdpPayload
    }
    this.tcpOpts = {
      idleTimeoutMs: this.init.tcpIdleTimeoutMs,
      maxConnections: this.init.maxTcpConnections,
      maxPerSource: this.init.tcpConnectionsPerSource,
      onError: this.init.onError
    }
    this.demand = init.threadsOnDemand
    this.rateLimitLog = new RateLimitLog(this.init.onRateLimit)
    this.limiter = new RateLimiter(init.rateLimit ?? DEFAULT_RATE_LIMIT, init.now, (prefix, kind) => this.rateLimitLog.limited(prefix, kind, this.init.now()))
    this.armExpiry()
  }

  /** Applies new limits from the next packet or connection on, in every thread. */
  setLimits(limits: DnsLimits): void {
    const text = JSON.stringify(limits)
    if (text === this.limitsText) return
    this.limitsText = text
    this.ctx.maxUdpPayload = limits.maxUdpPayload
    this.tcpOpts.idleTimeoutMs = limits.tcpIdleTimeoutMs
    this.tcpOpts.maxPerSource = limits.tcpConnectionsPerSource
    this.limiter.configure(limits.rateLimit)
    this.broadcast({ t: 'limits', maxUdpPayload: limits.maxUdpPayload, rateLimit: limits.rateLimit })
  }

  /** Client prefixes being rate-limited now. */
  get rateLimitedPrefixes(): number {
    return this.rateLimitLog.limitedPrefixes
  }

  get zone(): CompiledZone {
    return this.ctx.zone
  }

  async start(listen: DnsListenSpec): Promise<DnsBound> {
    if (this.udp.length + this.tcp.length > 0) throw new DnsListenError('DnsServer already started')
    const { onError } = this.init
    const wanted = this.init.udpThreads === 'auto' ? availableParallelism() : this.init.udpThreads
    const threads = wanted > 1 && (await udpReusePortSupported()) && workerEntryExists() ? wanted : 1
    try {
      for (const a of listen.udp ?? []) {
        this.udp.push(
          await bindUdp(a, this.ctx, { reusePort: threads > 1, recvBufferSize: this.init.recvBufferSize, limiter: this.limiter, onError })
        )
      }
      const udp = this.udp.map(boundAddress)
      const tcpOpts = this.tcpOpts
      for (const a of listen.tcp ?? []) {
        // Port 0 on a host that also has UDP: try the UDP port first, so one port serves both.
        const same = a.port === 0 ? udp.find((u) => u.host === a.host) : undefined
        let server: Server | undefined
        if (same) server = await listenTcp(same, this.ctx, tcpOpts, this.connections, this.tcpSources).catch(() => undefined)
        this.tcp.push(server ?? (await listenTcp(a, this.ctx, tcpOpts, this.connections, this.tcpSources)))
      }
      this.udpAddresses = udp
      this.maxThreads = udp.length > 0 ? threads : 1
      if (this.demand === undefined) for (let i = 1; i < this.maxThreads; i++) await this.spawnWorker()
      else if (this.maxThreads > 1) {
        this.lastLoad = { handled: this.handled(), atMs: performance.now() }
        this.demandTimer = setInterval(() => this.followDemand(this.demand!), 1000)
        this.demandTimer.unref()
      }
      this.sweepTimer = setInterval(() => this.rateLimitLog.sweep(this.init.now()), 1000)
      this.sweepTimer.unref()
      return { udp, tcp: this.tcp.map(boundAddress), udpThreads: udp.length > 0 ? 1 + this.workers.length : 0 }
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.demandTimer)
    this.demandTimer = undefined
    await this.changing
    clearTimeout(this.expiryTimer)
    this.expiryTimer = undefined
    clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
    const workers = this.workers
    this.workers = []
    await Promise.all(workers.map((w) => this.stopWorker(w)))
    for (const c of this.connections) c.destroy()
    await Promise.all([...this.udp.map(closeUdp), ...this.tcp.map(closeTcp)])
    this.udp = []
    this.tcp = []
    this.udpAddresses = []
  }

  /** Serves `zone` from the next packet on, with the current health overrides applied. */
  setZone(zone: CompiledZone): void {
    for (const [id, healthy] of this.health) zone.setTargetHealth(id, healthy)
    this.ctx.zone = zone
    this.armExpiry()
    this.broadcast({ t: 'zone', zone: this.transfer() })
  }

  /** Compiles and swaps; on an invalid spec keeps serving the current zone and returns the error. */
  applySpec(spec: ZoneSpec): ZoneSpecError | undefined {
    let zone: CompiledZone
    try {
      zone = compileZone(spec, this.init.now())
    } catch (err) {
      return err instanceof ZoneSpecError ? err : new ZoneSpecError('zone failed to compile', { cause: err })
    }
    this.setZone(zone)
    return undefined
  }

  /** One user added/moved (core = node name) or removed (null), without recompiling. */
  setUser(username: string, core: string | null): void {
    this.ctx.zone.setUser(username, core)
    this.broadcast({ t: 'user', username, core })
  }

  /**
   * Liveness override for a weighted target id; kept across setZone() until cleared with null,
   * which restores the spec's `healthy` flag. Takes effect on the next query.
   */
  setTargetHealth(targetId: string, healthy: boolean | null): void {
    if (healthy === null) this.health.delete(targetId)
    else this.health.set(targetId, healthy)
    this.ctx.zone.setTargetHealth(targetId, healthy)
    this.broadcast({ t: 'health', id: targetId, healthy })
  }

  /** Recompiles the current spec so expired ACME records vanish; users and health are kept. */
  refreshExpired(): void {
    const old = this.ctx.zone
    this.setZone(compileZone({ ...old.spec, users: undefined }, this.init.now(), old.users))
  }

  /**
   * A new SOA serial for the same data (users were changed in place with setUser): recompiles
   * the zone without its users, which the new zone adopts as they are, in every thread.
   */
  setSerial(serial: number): void {
    const old = this.ctx.zone
    if (old.spec.serial === serial) return
    const zone = compileZone({ ...old.spec, serial, users: undefined }, this.init.now(), old.users)
    for (const [id, healthy] of this.health) zone.setTargetHealth(id, healthy)
    this.ctx.zone = zone
    this.armExpiry()
    this.broadcast({ t: 'serial', serial })
  }

  /** UDP threads running now, the main thread included (0 without UDP). */
  get udpThreads(): number {
    return this.udpAddresses.length > 0 ? 1 + this.workers.length : 0
  }

  /** Totals since start over all threads (worker figures lag by up to one second). */
  counters(): DnsCountersSnapshot {
    let s: DnsCountersSnapshot = { ...this.counters_.snapshot(), rateLimited: this.limiter.snapshot() }
    if (this.retired) s = addSnapshots(s, this.retired)
    for (const w of this.workers) if (w.counters) s = addSnapshots(s, w.counters)
    return s
  }

  private armExpiry(): void {
    clearTimeout(this.expiryTimer)
    const next = this.ctx.zone.nextExpiryMs
    if (!Number.isFinite(next)) return
    const delay = Math.min(Math.max(0, next - this.init.now()) + 1, 0x7fffffff)
    this.expiryTimer = setTimeout(() => this.refreshExpired(), delay)
    this.expiryTimer.unref()
  }

  private transfer(): ZoneTransfer {
    const z = this.ctx.zone
    return { spec: { ...z.spec, users: undefined }, nowMs: z.compiledAtMs, users: z.users, health: [...this.health] }
  }

  private broadcast(m: ToWorker): void {
    for (const w of this.workers) w.worker.postMessage(m)
  }

  /**
   * One more UDP thread. It is in `workers` from the start, so that a change broadcast while it
   * starts waits in its port instead of being missed; it leaves the list if it fails.
   */
  private async spawnWorker(): Promise<void> {
    const worker = new Worker(WORKER_URL, {
      workerData: {
        udp: this.udpAddresses,
        maxUdpPayload: this.ctx.maxUdpPayload,
        rateLimit: this.limiter.config,
        recvBufferSize: this.init.recvBufferSize,
        zone: this.transfer()
      }
    })
    const handle: WorkerHandle = { worker, counters: undefined }
    this.workers.push(handle)
    worker.on('error', this.init.onError)
    worker.on('message', (m: FromWorker) => {
      if (m.t === 'counters') handle.counters = m.counters
      else if (m.t === 'limited') this.rateLimitLog.limited(m.prefix, m.kind, this.init.now())
    })
    try {
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (m: FromWorker) => {
          if (m.t === 'ready') resolve()
          else if (m.t === 'error') reject(new Error(`DNS worker failed: ${m.message}`))
        })
        worker.once('error', reject)
      })
    } catch (err) {
      this.workers = this.workers.filter((w) => w !== handle)
      await worker.terminate()
      throw err
    }
  }

  /**
   * Once a second with threadsOnDemand: one more thread while the load reaches startAtQps (up to
   * maxThreads), every extra thread stopped once it has stayed below stopBelowQps for stopAfterMs.
   * The kernel spreads a port's flows evenly over its sockets, so the main thread's own count times
   * the threads running estimates the whole. The count comes from the counters the request path
   * keeps anyway (a snapshot a second, well under a millisecond), so answering costs nothing more.
   */
  private followDemand(demand: ThreadDemand): void {
    const now = performance.now()
    const handled = this.handled()
    const qps = ((handled - this.lastLoad.handled) * 1000 * (1 + this.workers.length)) / Math.max(1, now - this.lastLoad.atMs)
    this.lastLoad = { handled, atMs: now }
    if (this.changing) return
    if (qps < demand.stopBelowQps && this.workers.length > 0) {
      this.quietSinceMs ??= now
      if (now - this.quietSinceMs < demand.stopAfterMs) return
      const workers = this.workers
      this.workers = []
      this.change(Promise.all(workers.map((w) => this.stopWorker(w))).then(() => {}))
    } else {
      this.quietSinceMs = undefined
      if (qps >= demand.startAtQps && 1 + this.workers.length < this.maxThreads) {
        this.change(this.spawnWorker().catch((err: Error) => {
          // Not retried every second under load: the server goes on with the threads it has.
          this.maxThreads = 1 + this.workers.length
          this.init.onError(err)
        }))
      }
    }
  }

  /** Runs one change of the threads at a time; the next window of the load starts after it. */
  private change(done: Promise<void>): void {
    this.changing = done.finally(() => {
      this.changing = undefined
      this.quietSinceMs = undefined
      this.lastLoad = { handled: this.handled(), atMs: performance.now() }
    })
  }

  /**
   * Requests the main thread has handled since start (UDP and TCP: TCP is served there alone),
   * answered or not: a flood that rate limiting drops is work for the thread all the same.
   */
  private handled(): number {
    const s = this.counters_.snapshot()
    let n = s.dropped
    for (const count of Object.values(s.queriesByType)) n += count
    return n
  }

  private async stopWorker(w: WorkerHandle): Promise<void> {
    const done = new Promise<void>((resolve) => {
      w.worker.on('message', (m: FromWorker) => {
        if (m.t === 'counters' && m.final) resolve()
      })
      w.worker.once('exit', () => resolve())
    })
    w.worker.postMessage({ t: 'stop' } satisfies ToWorker)
    await done
    if (w.counters) this.retired = this.retired ? addSnapshots(this.retired, w.counters) : w.counters
    await w.worker.terminate()
  }
}

const WORKER_URL = new URL('./worker.js', import.meta.url)

function workerEntryExists(): boolean {
  try {
    return statSync(WORKER_URL).isFile()
  } catch {
    return false
  }
}

function boundAddress(s: UdpSocket | Server): ListenAddress {
  const a = s.address()
  if (a === null || typeof a === 'string') throw new Error('listener has no address')
  return { host: a.address, port: a.port }
}

