import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ExitCode, OperatorError } from '../errors.js'
import { callRpc, handleRpc, Protocols } from '../mesh/rpc.js'
import { encodeSnapshotText, openVerifiedSnapshot, parseManifest, signManifest, type SnapshotManifest } from '../state/snapshot.js'
import type { StateRecord, StateStore } from '../state/store.js'
import type { NodeContext } from './context.js'
import { errorReply } from './wire-errors.js'

export interface TransferLimits {
  /** Bytes per chunk; each chunk is one request, its reply the acknowledgement of the one before. */
  readonly chunkBytes: number
  /** Receivers served at once; more are told to come back later. */
  readonly maxConcurrent: number
  /** A built snapshot is reused (so a broken transfer resumes on the same bytes) for this long after its last use. */
  readonly keepMs: number
}

const DEFAULT_LIMITS: TransferLimits = { chunkBytes: 1024 * 1024, maxConcurrent: 2, keepMs: 120_000 }
const CHUNK_TIMEOUT_MS = 15_000
/** Chunks asked for at once: the next ones travel while one is encoded, encrypted or checked. Each is still acknowledged. */
const CHUNKS_IN_FLIGHT = 4
/** The largest chunk a receiver accepts (a chunk travels base64 in one RPC message, at most 8 MiB). */
const MAX_CHUNK_BYTES = 4 * 1024 * 1024
const RETRIES_PER_PEER = 3
/** Tests only: a sender waits this long before each chunk, so that a transfer can be cut in its middle. */
const TEST_CHUNK_DELAY_MS = Number(process.env.PRYV_TEST_SNAPSHOT_CHUNK_DELAY_MS ?? 0) || 0
/** Tests only: a sender changes one digit of the last chunk of each snapshot (still valid JSON), which receivers must refuse. */
const TEST_TAMPER = process.env.PRYV_TEST_SNAPSHOT_TAMPER === '1'

interface Built {
  readonly manifest: SnapshotManifest
  readonly bytes: Buffer
  lastUsed: number
}

/** A download in progress: kept across broken connections and peers, so it resumes where it stopped. */
interface Download {
  readonly manifest: SnapshotManifest
  /** The sender's chunk size the held chunks were cut by. */
  readonly chunkBytes: number
  /** Chunks held, by offset: several are asked for at once, so they may arrive out of order. */
  readonly chunks: Map<number, Buffer>
  /** Bytes held from the start without a gap: where a resumed download continues. */
  received: number
  /** Bytes already held when the current peer took over the download (0: it sent every chunk). */
  resumedAt: number
}

export interface TransferStats {
  served: number
  installed: number
  refused: number
  /** The download in progress (or interrupted, to be resumed): its snapshot, how far it got, from whom. */
  receiving: { revision: number, bytes: number, received: number, from: string } | null
  /** `from` sent the bytes from `resumedAt` on: those before came from another member, or an earlier connection. */
  lastInstalled?: { revision: number, bytes: number, ms: number, from: string, resumedAt: number }
}

/**
 * Snapshot transfer between members over the mesh: a writer builds a snapshot of its state from a
 * consistent LevelDB read, signs its manifest, and serves it in chunks; a lagging or new node
 * downloads it chunk by chunk (resuming after a broken connection, from the same peer or another one
 * holding the same bytes), checks the whole-snapshot hash and the writer's signature, and installs it.
 */
export class SnapshotTransfer {
  readonly stats: TransferStats = { served: 0, installed: 0, refused: 0, receiving: null }
  private built?: Built
  private building?: Promise<Built>
  private readonly receivers = new Map<string, number>()
  private partial?: Download
  private readonly limits: TransferLimits

  constructor(private readonly ctx: NodeContext, private readonly store: StateStore, limits: Partial<TransferLimits> = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...limits }
  }

  async start(): Promise<void> {
    await handleRpc(this.ctx.mesh, Protocols.snapshot, async (request, remote) => {
      const peer = remote.toString()
      if (!this.ctx.replica.state.members.has(peer)) {
        return errorReply(new OperatorError('PRYV_NOT_A_MEMBER', 'only members may read the platform state', { exitCode: ExitCode.conflict }))
      }
      const r = request as { op?: unknown, hash?: unknown, offset?: unknown }
      if (r.op === 'manifest') return this.serveManifest(peer)
      if (r.op === 'chunk' && typeof r.hash === 'string' && Number.isSafeInteger(r.offset) && (r.offset as number) >= 0) return this.serveChunk(peer, r.hash, r.offset as number)
      return errorReply(new OperatorError('PRYV_RPC_MALFORMED', 'a snapshot request names an op: manifest, or chunk with hash and offset'))
    }, errorReply)
  }

  private async serveManifest(peer: string): Promise<unknown> {
    if (!this.ctx.replica.state.writers.includes(this.ctx.selfId)) {
      return errorReply(new OperatorError('PRYV_NOT_A_WRITER', 'only writers serve snapshots (they sign them)', { exitCode: ExitCode.conflict }))
    }
    const now = Date.now()
    for (const [p, at] of this.receivers) if (now - at > CHUNK_TIMEOUT_MS * 2) this.receivers.delete(p)
    if (!this.receivers.has(peer) && this.receivers.size >= this.limits.maxConcurrent) {
      return errorReply(new OperatorError('PRYV_SNAPSHOT_BUSY', `this node already sends ${this.receivers.size} snapshots`, { exitCode: ExitCode.unreachable }))
    }
    this.receivers.set(peer, now)
    const built = await this.snapshot()
    return { manifest: built.manifest, chunkBytes: this.limits.chunkBytes }
  }

  private async serveChunk(peer: string, hash: string, offset: number): Promise<unknown> {
    if (TEST_CHUNK_DELAY_MS > 0) await new Promise((r) => setTimeout(r, TEST_CHUNK_DELAY_MS))
    const built = this.built
    if (built?.manifest.hash !== hash) return errorReply(new OperatorError('PRYV_SNAPSHOT_GONE', 'this node no longer holds that snapshot', { exitCode: ExitCode.conflict }))
    built.lastUsed = Date.now()
    this.receivers.set(peer, built.lastUsed)
    const end = Math.min(offset + this.limits.chunkBytes, built.bytes.length)
    if (end >= built.bytes.length) {
      this.receivers.delete(peer)
      this.stats.served++
    }
    const data = built.bytes.subarray(offset, end)
    return { offset, data: (TEST_TAMPER && end === built.bytes.length ? tampered(data) : data).toString('base64') }
  }

  /** The snapshot to serve: the one being sent while it is in use, else a new one of the current state. */
  private async snapshot(): Promise<Built> {
    const built = this.built
    if (built && (Date.now() - built.lastUsed < this.limits.keepMs || built.manifest.revision === this.ctx.replica.revision)) return built
    this.building ??= (async () => {
      const { bytes, header } = encodeSnapshotText(this.ctx.config.platformId, await this.store.exportStateText())
      const manifest = await signManifest(header, bytes, this.ctx.identity, this.ctx.selfId)
      this.built = { manifest, bytes, lastUsed: Date.now() }
      return this.built
    })().finally(() => { this.building = undefined })
    return this.building
  }

  /**
   * Downloads and verifies a snapshot at `minRevision` or later from the first of `peers` that has
   * one (writers serve them). Throws when none could be had.
   */
  async fetch(minRevision: number, peers: readonly string[]): Promise<{ records: StateRecord[], revision: number }> {
    const started = performance.now()
    let lastError: unknown = new Error('no writer to fetch a snapshot from')
    for (const peer of peers.filter((p) => p !== this.ctx.selfId)) {
      for (let attempt = 0; attempt < RETRIES_PER_PEER; attempt++) {
        try {
          const bytes = await this.downloadFrom(peer, minRevision)
          if (!bytes) {
            lastError = new Error(`${peer} has no snapshot at revision ${minRevision} or later yet`)
            break
          }
          const { manifest, resumedAt } = this.partial!
          this.partial = undefined
          this.stats.receiving = null
          let decoded: Awaited<ReturnType<typeof openVerifiedSnapshot>>
          try {
            decoded = await openVerifiedSnapshot(manifest, bytes, this.ctx.config.platformId, this.ctx.replica.state.writers)
          } catch (err) {
            this.stats.refused++
            this.ctx.log.warn({ peer, revision: manifest.revision, err: (err as Error).message }, 'refused a snapshot')
            throw err
          }
          this.stats.installed++
          this.stats.lastInstalled = { revision: manifest.revision, bytes: manifest.size, ms: Math.round(performance.now() - started), from: peer, resumedAt }
          return { records: decoded.records, revision: manifest.revision }
        } catch (err) {
          lastError = err
          this.ctx.log.debug({ peer, attempt, err: (err as Error).message }, 'snapshot download interrupted')
          if ((err as { code?: string }).code === 'PRYV_SNAPSHOT_BUSY' || (err as Error).name === 'SnapshotError') break
        }
      }
    }
    throw lastError
  }

  /**
   * Pulls the peer's snapshot into `this.partial`, resuming a download of the same bytes, with up to
   * CHUNKS_IN_FLIGHT chunk requests at once. Returns the bytes once complete, undefined when the
   * peer's snapshot is older than `minRevision`.
   */
  private async downloadFrom(peer: string, minRevision: number): Promise<Buffer | undefined> {
    const id = peerIdFromString(peer)
    const offer = await callRpc(this.ctx.mesh, id, Protocols.snapshot, { op: 'manifest' }, AbortSignal.timeout(30_000)) as { manifest?: unknown, chunkBytes?: unknown, error?: { code?: string, message?: string } }
    if (offer.error) throw Object.assign(new Error(offer.error.message ?? 'snapshot refused'), { code: offer.error.code })
    const manifest = parseManifest(offer.manifest)
    const chunkBytes = offer.chunkBytes
    if (!manifest || !Number.isSafeInteger(chunkBytes) || (chunkBytes as number) < 1 || (chunkBytes as number) > MAX_CHUNK_BYTES) throw new Error('malformed snapshot manifest')
    if (manifest.revision < minRevision) return undefined
    const partial = this.resumable(manifest, chunkBytes as number)
    partial.resumedAt = partial.received
    if (partial.received > 0) this.ctx.log.info({ peer, revision: manifest.revision, offset: partial.received, bytes: manifest.size }, 'resuming a snapshot download')
    this.stats.receiving = { revision: manifest.revision, bytes: manifest.size, received: partial.received, from: peer }
    // A deadline that scales with the size: 30 s plus 10 s per MiB.
    const budgetMs = 30_000 + Math.ceil(manifest.size / 1024 / 1024) * 10_000
    const deadline = Date.now() + budgetMs
    let next = partial.received
    let failed = false
    const worker = async (): Promise<void> => {
      while (!failed) {
        while (next < manifest.size && partial.chunks.has(next)) next += partial.chunkBytes
        if (next >= manifest.size) return
        if (Date.now() > deadline) throw new Error(`the snapshot transfer took longer than its ${budgetMs / 1000} s budget`)
        const offset = next
        next += partial.chunkBytes
        partial.chunks.set(offset, await this.fetchChunk(id, manifest, offset, Math.min(partial.chunkBytes, manifest.size - offset)))
        for (let held = partial.chunks.get(partial.received); held; held = partial.chunks.get(partial.received)) partial.received += held.length
        this.stats.receiving = { revision: manifest.revision, bytes: manifest.size, received: partial.received, from: peer }
      }
    }
    // Every request settles before a failure is reported: a resumed download never asks twice for a chunk it got.
    const outcomes = await Promise.allSettled(Array.from({ length: CHUNKS_IN_FLIGHT }, () => worker().catch((err: unknown) => {
      failed = true
      throw err
    })))
    const failure = outcomes.find((o) => o.status === 'rejected')
    if (failure) throw failure.reason
    const chunks: Buffer[] = []
    for (let offset = 0; offset < manifest.size; offset += chunks.at(-1)!.length) chunks.push(partial.chunks.get(offset)!)
    return Buffer.concat(chunks, manifest.size)
  }

  /** The download to continue for `manifest`: what was had of the same bytes, cut the same way, is kept. */
  private resumable(manifest: SnapshotManifest, chunkBytes: number): Download {
    const held = this.partial
    // Two writers at one revision serve the same bytes (snapshots are deterministic): what was had from one is kept.
    if (held?.manifest.hash !== manifest.hash) this.partial = { manifest, chunkBytes, chunks: new Map(), received: 0, resumedAt: 0 }
    else if (held.chunkBytes !== chunkBytes) {
      // Cut another way: the bytes held without a gap become one chunk, the rest is asked for again.
      const prefix: Buffer[] = []
      for (let offset = 0; offset < held.received; offset += prefix.at(-1)!.length) prefix.push(held.chunks.get(offset)!)
      const chunks = new Map<number, Buffer>(held.received > 0 ? [[0, Buffer.concat(prefix)]] : [])
      this.partial = { manifest, chunkBytes, chunks, received: held.received, resumedAt: 0 }
    }
    return this.partial!
  }

  /** One chunk of `manifest` at `offset`, checked to be exactly the `length` bytes asked for; its reply acknowledges it. */
  private async fetchChunk(id: PeerId, manifest: SnapshotManifest, offset: number, length: number): Promise<Buffer> {
    const reply = await callRpc(this.ctx.mesh, id, Protocols.snapshot, { op: 'chunk', hash: manifest.hash, offset }, AbortSignal.timeout(CHUNK_TIMEOUT_MS)) as { offset?: unknown, data?: unknown, error?: { code?: string, message?: string } }
    if (reply.error) throw Object.assign(new Error(reply.error.message ?? 'chunk refused'), { code: reply.error.code })
    if (reply.offset !== offset || typeof reply.data !== 'string') throw new Error('malformed snapshot chunk')
    const chunk = Buffer.from(reply.data, 'base64')
    if (chunk.length !== length) throw new Error(`a snapshot chunk of ${chunk.length} bytes where ${length} were asked for`)
    return chunk
  }
}

/** Tests only (PRYV_TEST_SNAPSHOT_TAMPER): a copy of `chunk` with its last digit below 9 raised by one. */
function tampered(chunk: Buffer): Buffer {
  const copy = Buffer.from(chunk)
  copy[copy.findLastIndex((b) => b >= 0x30 && b < 0x39)]! += 1
  return copy
}
