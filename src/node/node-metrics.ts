import type { Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { ControlHandler } from '../control/server.js'
import type { PlatformNode } from './platform-node.js'
import type { CompactionSnapshot, NodeSnapshot, WriterSetSnapshot } from '../metrics/collectors.js'
import { closeServer, serveMetrics } from '../metrics/http.js'
import { formatAddress, parseMetricsListen } from '../metrics/listen.js'

/**
 * The node's metrics, in its own prom-client Registry (never the global one): Node.js process
 * metrics plus pryv_node_* and pryv_dns_* read from the node at scrape time. Served through the
 * control-socket method `metrics` (`pryv-node metrics`) and, when `listen` is set, over HTTP at
 * `http://<listen>/metrics` on a loopback address only.
 *
 * Lifecycle: constructed with the node; `start()` after the node's parts (binds the HTTP endpoint,
 * or throws an OperatorError), `stop()` before them; both idempotent.
 */
export class NodeMetrics {
  private registry?: Promise<Registry>
  private server?: Server
  private started = false
  private memo?: NodeSnapshot

  constructor(
    private readonly node: PlatformNode,
    /** `host:port` to serve `/metrics` on (loopback only); none when undefined. */
    private readonly listen: string | undefined
  ) {}

  /**
   * Built at the first scrape: prom-client and its process collectors cost ~20 MB of memory, which a
   * node that nobody scrapes should not pay.
   */
  private metricsRegistry(): Promise<Registry> {
    this.registry ??= (async () => {
      const [{ Registry, collectDefaultMetrics }, { registerNodeMetrics }, { registerCertsMetrics }] = await Promise.all([import('prom-client'), import('../metrics/collectors.js'), import('../metrics/certs.js')])
      const registry = new Registry()
      registerNodeMetrics(registry, () => this.snapshot())
      registerCertsMetrics(registry, () => this.node.certs.metricsSnapshot(), () => this.node.ctx.now())
      collectDefaultMetrics({ register: registry })
      return registry
    })()
    return this.registry
  }

  /** `host:port` the HTTP endpoint listens on, once started; undefined without one. */
  get bound(): string | undefined {
    const a = this.server?.address()
    return a && typeof a === 'object' ? formatAddress({ host: a.address, port: a.port }) : undefined
  }

  async start(): Promise<void> {
    if (this.started) return
    // Checked before anything is registered process-wide, so a refused address leaves nothing behind.
    const addr = this.listen === undefined ? undefined : parseMetricsListen(this.listen)
    if (addr) {
      this.server = await serveMetrics(addr, () => this.render('text') as Promise<{ contentType: string, text: string }>, (err) =>
        this.node.ctx.log.debug({ err: err.message }, 'metrics request failed'))
    }
    if (addr) await this.metricsRegistry()
    this.started = true
    if (this.server) this.node.ctx.log.info({ url: `http://${this.bound}/metrics` }, 'serving metrics')
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server) await closeServer(server)
  }

  handlers(): Record<string, ControlHandler> {
    return {
      metrics: async (p) => this.render(p.format === 'json' ? 'json' : 'text')
    }
  }

  /** The Prometheus text exposition (with its content type), or prom-client's JSON form. */
  async render(format: 'text' | 'json'): Promise<{ contentType: string, text: string } | unknown[]> {
    const registry = await this.metricsRegistry()
    if (format === 'json') return registry.getMetricsAsJSON()
    return { contentType: registry.contentType, text: await registry.metrics() }
  }

  /**
   * One snapshot per scrape: prom-client calls every collect() in one synchronous pass, so the
   * snapshot is kept until the next microtask and taken again by the next scrape.
   */
  private snapshot(): NodeSnapshot {
    if (this.memo === undefined) {
      this.memo = snapshotOf(this.node)
      queueMicrotask(() => {
        this.memo = undefined
      })
    }
    return this.memo
  }
}

interface StatusView {
  platform: { id: string, domain: string }
  self: { name: string, peerId: string }
  revision: number
  members: { name: string, peerId: string, role: string, alive: boolean, revision: number | null }[]
  writerSet: Record<string, unknown> | null
  compaction?: { snapshot: { index: number } | null }
}

/** Reads what the metrics show from the node's public surface. */
export function snapshotOf(node: PlatformNode): NodeSnapshot {
  const status = node.status() as unknown as StatusView
  const render = node.settings.status()
  return {
    self: { name: status.self.name, peerId: status.self.peerId, platformId: status.platform.id, domain: status.platform.domain },
    revision: status.revision,
    members: status.members.map((m) => ({ name: m.name, peerId: m.peerId, role: m.role, alive: m.alive, revision: m.revision })),
    writerSet: writerSetOf(status.writerSet),
    replicationDropped: { ...node.replication.dropped },
    settings: render ? { revision: render.revision, failures: render.failures.length, atMs: Date.parse(render.at), durationMs: render.durationMs } : null,
    dns: node.dns.counters() ?? null,
    compaction: compactionOf(node, status.compaction?.snapshot ?? null)
  }
}

function compactionOf(node: PlatformNode, snapshot: { index: number } | null): CompactionSnapshot {
  const c = node.compactor.status()
  const transfers = node.replication.snapshots.stats
  const backups = node.backups.status()
  return {
    logFirstRevision: c.log.firstRevision,
    snapshotIndex: snapshot ? snapshot.index : null,
    lastCompactionMs: c.lastCompactionAt,
    diskBytes: c.diskBytes,
    snapshotsInstalled: transfers.installed,
    snapshotsServed: transfers.served,
    snapshotsRefused: transfers.refused,
    backup: backups ? { lastMs: backups.lastAt, stale: backups.stale } : null
  }
}

function writerSetOf(ws: Record<string, unknown> | null): WriterSetSnapshot | null {
  if (!ws) return null
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0)
  const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : [])
  return {
    role: String(ws.role ?? 'follower'),
    term: num(ws.term),
    leader: typeof ws.leader === 'string' ? ws.leader : null,
    commit: num(ws.commit),
    applied: num(ws.applied),
    voters: list(ws.voters),
    learners: list(ws.learners),
    dropped: typeof ws.dropped === 'object' && ws.dropped !== null ? (ws.dropped as Record<string, number>) : {}
  }
}
