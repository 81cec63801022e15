import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { Message } from '@libp2p/gossipsub'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ExitCode, OperatorError } from '../errors.js'
import { isDialable, MAX_MEMBER_ADDRESSES } from '../mesh/addresses.js'
import { decodeJson, encodeJson } from '../mesh/json.js'
import { callRpc, handleRpc, Protocols } from '../mesh/rpc.js'
import { parseSignedEntry, type SignedEntry, verifyEntrySignature } from '../state/entry.js'
import type { StateStore } from '../state/store.js'
import { type NodeContext, topics } from './context.js'
import { SnapshotTransfer } from './snapshot-transfer.js'
import { errorReply } from './wire-errors.js'

const SYNC_BATCH = 500

/** Counters of what replication dropped, by reason; shown in status and for metrics. */
export type DropCounters = Record<string, number>

/**
 * Moves committed entries between nodes: the writer publishes each one on the log topic; every node
 * that follows the topic checks the signer is a writer before gossipsub forwards it, applies entries
 * in order, and fills gaps (missed messages, restarts, long absences) by asking a member for the
 * entries it lacks. A node running the writer set does not follow the topic: it applies every
 * committed entry from its consensus log, and the gossiped copy would only cost each write framing
 * and signature checks on every full node.
 */
export class Replication {
  readonly dropped: DropCounters = {}
  /** Entries delivered by the log topic since start (validated; applied or found stale). */
  private gossiped = 0
  readonly snapshots: SnapshotTransfer
  private syncing = false
  private followingTopic = false
  private readonly topic: string

  constructor(private readonly ctx: NodeContext, private readonly store: StateStore) {
    this.topic = topics.log(ctx.config.platformId)
    this.snapshots = new SnapshotTransfer(ctx, store)
  }

  async start(): Promise<void> {
    const pubsub = this.ctx.mesh.services.pubsub
    pubsub.topicValidators.set(this.topic, (_from, msg) => this.validate(msg))
    this.followTopic(true)
    pubsub.addEventListener('message', (evt) => {
      if (evt.detail.topic !== this.topic) return
      const entry = parseSignedEntry(decodeJson(evt.detail.data))
      // Delivered only after validate() accepted it, signature included.
      if (!entry) return
      this.gossiped++
      void this.receive(entry, evt.detail.type === 'signed' ? evt.detail.from : undefined)
    })
    await handleRpc(this.ctx.mesh, Protocols.sync, async (request, remote) => {
      if (!this.ctx.replica.state.members.has(remote.toString())) {
        return errorReply(new OperatorError('PRYV_NOT_A_MEMBER', 'only members may read the platform log', { exitCode: ExitCode.conflict }))
      }
      const from = (request as { from?: unknown }).from
      if (!Number.isSafeInteger(from) || (from as number) < 1) return errorReply(new OperatorError('PRYV_RPC_MALFORMED', 'sync needs a revision to start from'))
      const head = this.ctx.replica.revision
      const { firstRevision } = await this.store.logBase()
      // Compacted away: the caller needs a snapshot, then the entries after it.
      if ((from as number) < firstRevision && (from as number) <= head) return { compacted: this.compactedAt(firstRevision), head }
      const entries = await this.store.readEntries(from as number, SYNC_BATCH)
      // Compacted between the two reads: the same answer as above.
      if (entries.length > 0 && entries[0]!.revision !== from) return { compacted: this.compactedAt(entries[0]!.revision), head }
      return { entries, head }
    }, errorReply)
    await this.snapshots.start()
  }

  /**
   * The answer to a sync from before `firstRevision`: the writers that serve snapshots, and where they
   * listen (a new node knows only the member it joined through: without these it could not fetch
   * from another writer when that one fails).
   */
  private compactedAt(firstRevision: number): { firstRevision: number, writers: readonly string[], addresses: Record<string, string[]> } {
    const { writers, members } = this.ctx.replica.state
    const addresses = Object.fromEntries(writers.map((w) => [w, (members.get(w)?.addresses ?? []).map(withoutPeerId).filter(isDialable).slice(0, MAX_MEMBER_ADDRESSES)]))
    return { firstRevision, writers, addresses }
  }

  /**
   * Whether this node takes committed entries from the log topic: yes unless its writer set runs.
   * The writer publishes to every node that follows it (flood publish), observers in one hop.
   */
  followTopic(follow: boolean): void {
    if (follow === this.followingTopic) return
    this.followingTopic = follow
    const pubsub = this.ctx.mesh.services.pubsub
    if (follow) pubsub.subscribe(this.topic)
    else pubsub.unsubscribe(this.topic)
  }

  /** Whether this node follows the log topic, and how many entries it delivered (for `status`). */
  topicStatus(): { following: boolean, entries: number } {
    return { following: this.followingTopic, entries: this.gossiped }
  }

  publish(entry: SignedEntry): void {
    this.ctx.mesh.services.pubsub.publish(this.topic, encodeJson(entry)).catch((err) => {
      this.ctx.log.warn({ err: err.message, revision: entry.revision }, 'publishing an entry failed; members will catch up')
    })
  }

  /**
   * Gossipsub asks this before delivering or forwarding: entries not signed by a writer are rejected
   * (and their sender's score lowered), so they never spread.
   */
  private async validate(msg: Message): Promise<TopicValidatorResult> {
    const entry = parseSignedEntry(decodeJson(msg.data))
    if (!entry) return this.drop('malformed', TopicValidatorResult.Reject)
    const state = this.ctx.replica.state
    if (entry.revision <= state.revision) return this.drop('stale', TopicValidatorResult.Ignore)
    const writerKnown = state.writers.includes(entry.signer) || (entry.revision === 1 && state.revision === 0)
    if (!writerKnown) return this.drop('not-a-writer', TopicValidatorResult.Reject)
    if (!(await verifyEntrySignature(entry))) return this.drop('bad-signature', TopicValidatorResult.Reject)
    return TopicValidatorResult.Accept
  }

  private drop(reason: string, verdict: TopicValidatorResult): TopicValidatorResult {
    this.dropped[reason] = (this.dropped[reason] ?? 0) + 1
    return verdict
  }

  private async receive(entry: SignedEntry, from: PeerId | undefined): Promise<void> {
    const outcome = await this.ctx.replica.offer(entry, true)
    if (outcome.applied) return
    if (outcome.reason === 'gap') {
      void this.catchUp(from ? [from.toString()] : [])
      return
    }
    if (outcome.reason !== 'stale') {
      this.dropped[outcome.reason] = (this.dropped[outcome.reason] ?? 0) + 1
      this.ctx.log.warn({ revision: entry.revision, reason: outcome.reason, from: from?.toString() }, 'dropped an entry')
    }
  }

  /**
   * Fetches and applies missing entries, trying the given peers first, then the writers, then any
   * member. Returns the revision reached. Concurrent calls collapse into one.
   */
  async catchUp(preferred: readonly string[] = [], target = 0): Promise<number> {
    if (this.syncing) return this.ctx.replica.revision
    this.syncing = true
    try {
      const state = this.ctx.replica.state
      const candidates = [...new Set([...preferred, ...state.writers, ...state.members.keys()])].filter((p) => p !== this.ctx.selfId)
      for (const peer of candidates) {
        try {
          await this.syncFrom(peer, target)
          if (target === 0 || this.ctx.replica.revision >= target) break
        } catch (err) {
          this.ctx.log.debug({ peer, err: (err as Error).message }, 'sync attempt failed')
        }
      }
      return this.ctx.replica.revision
    } finally {
      this.syncing = false
    }
  }

  /**
   * Fetches a snapshot at `minRevision` or later from a writer (`peer` first when it is one) and
   * installs it: what a node behind a member's compacted log does before taking entries again.
   */
  async installSnapshot(minRevision: number, peer?: string, suggested: readonly string[] = []): Promise<void> {
    // A node with no state yet knows no writers: it asks those the member it syncs from names.
    // (It checks the snapshot's signature against the writers inside the snapshot.)
    const known = this.ctx.replica.state.writers
    const writers = known.length > 0 ? known : suggested
    const peers = [...new Set([...(peer && writers.includes(peer) ? [peer] : []), ...writers])]
    let fetched: Awaited<ReturnType<SnapshotTransfer['fetch']>>
    try {
      fetched = await this.snapshots.fetch(minRevision, peers)
    } catch (err) {
      throw new OperatorError('PRYV_SNAPSHOT_UNAVAILABLE', `No writer sent a usable snapshot of the platform state at revision ${minRevision} or later (last: ${(err as Error).message}).`, {
        hint: 'Check that the writers run and that this machine reaches their mesh port (`pryv-node doctor` on a member), then try again.',
        exitCode: ExitCode.unreachable,
        cause: err
      })
    }
    const { records, revision } = fetched
    if (await this.ctx.replica.installSnapshot(records, revision, undefined)) {
      this.ctx.log.info({ revision }, 'installed a snapshot of the platform state')
    }
  }

  /** Files the writers' addresses a sync reply gives (well-formed ones only; a dial still checks the peer's key). */
  private async learnWriterAddresses(writers: readonly string[], raw: unknown): Promise<void> {
    if (typeof raw !== 'object' || raw === null) return
    for (const w of writers) {
      const list = (raw as Record<string, unknown>)[w]
      if (!Array.isArray(list)) continue
      const addresses = list.filter(isDialable).slice(0, MAX_MEMBER_ADDRESSES) as string[]
      if (addresses.length === 0 || w === this.ctx.selfId) continue
      try {
        await this.ctx.mesh.peerStore.merge(peerIdFromString(w), { multiaddrs: addresses.map((a) => multiaddr(a)) })
      } catch {
        // Not a peer id: nothing to file.
      }
    }
  }

  /** Pulls entries from one peer until it has nothing newer. */
  async syncFrom(peer: string, target = 0): Promise<void> {
    for (;;) {
      const from = this.ctx.replica.revision + 1
      const reply = await callRpc(this.ctx.mesh, peerIdFromString(peer), Protocols.sync, { from }, AbortSignal.timeout(10_000)) as { entries?: unknown[], head?: number, compacted?: { firstRevision?: unknown, writers?: unknown, addresses?: unknown }, error?: { message?: string } }
      if (reply.error) throw new Error(reply.error.message ?? 'sync refused')
      if (reply.compacted) {
        const firstRevision = Number(reply.compacted.firstRevision)
        if (!Number.isSafeInteger(firstRevision) || firstRevision <= from) throw new Error('malformed sync reply')
        const writers = Array.isArray(reply.compacted.writers) ? reply.compacted.writers.filter((w): w is string => typeof w === 'string').slice(0, 16) : []
        await this.learnWriterAddresses(writers, reply.compacted.addresses)
        await this.installSnapshot(firstRevision - 1, peer, writers)
        continue
      }
      const entries = (reply.entries ?? []).map(parseSignedEntry)
      for (const entry of entries) {
        if (!entry) throw new Error('malformed entry in sync reply')
        const outcome = await this.ctx.replica.offer(entry)
        if (!outcome.applied && outcome.reason !== 'stale') throw new Error(`entry ${entry.revision} refused: ${outcome.reason}`)
      }
      const head = typeof reply.head === 'number' ? reply.head : 0
      if (entries.length === 0 || this.ctx.replica.revision >= head) {
        if (target > 0 && this.ctx.replica.revision < target) throw new Error(`peer has only revision ${head}`)
        return
      }
    }
  }
}

/** A recorded address without its trailing `/p2p/<id>`, as the address checks want it. */
function withoutPeerId(address: string): string {
  return address.replace(/\/p2p\/[^/]+$/, '')
}
