import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { decodeMessage, encodeMessage, type Message } from '../../consensus/index.js'
import type { Logger } from '../../log.js'
import type { MeshNode } from '../../mesh/libp2p.js'

export const RAFT_PROTOCOL = '/pryv/raft/1.0.0'
const MAX_FRAME_BYTES = 64 * 1024 * 1024

export interface TransportEvents {
  /** A decoded message from an authorised peer; `from` is already checked against the connection. */
  onMessage(m: Message): void
  /** Whether a peer may take part in consensus (a full member). */
  isAllowed(peerId: string): boolean
  /** Counts messages dropped as malformed or spoofed. */
  onDropped(reason: string, from: string): void
  /** The mesh lost its last connection to a peer (it died, or the link broke). */
  onPeerLost(peerId: string): void
}

/**
 * Carries consensus messages between full nodes: one long-lived stream per peer, one length-prefixed
 * frame per message. Sending is best effort (the core tolerates loss); a broken stream is reopened on
 * the next send. Incoming frames are decoded and validated, and a message whose `from` is not the
 * peer at the other end of the connection is dropped.
 */
export class RaftTransport {
  private readonly outbound = new Map<string, Promise<LengthPrefixedStream<Stream> | undefined>>()
  /**
   * Streams peers opened to us. Stopping must close them: a peer keeps writing to an open stream, so
   * one left open after this node leaves the writer set would swallow everything the leader sends to
   * it when it comes back (a demoted then promoted node that never hears its leader).
   */
  private readonly inbound = new Set<Stream>()

  constructor(private readonly mesh: MeshNode, private readonly events: TransportEvents, private readonly log: Logger) {}

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => this.events.onPeerLost(evt.detail.toString())

  async start(): Promise<void> {
    await this.mesh.handle(RAFT_PROTOCOL, (stream, connection) => void this.receive(stream, connection), { maxInboundStreams: 4 })
    this.mesh.addEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop(): Promise<void> {
    this.mesh.removeEventListener('peer:disconnect', this.onDisconnect)
    await this.mesh.unhandle(RAFT_PROTOCOL).catch(() => undefined)
    for (const pending of this.outbound.values()) {
      void pending.then((lp) => lp?.unwrap().abort(new Error('stopping')))
    }
    this.outbound.clear()
    for (const stream of this.inbound) stream.abort(new Error('stopping'))
    this.inbound.clear()
  }

  /**
   * Sends messages, those to the same peer in one write (one muxer frame, one encryption, one
   * syscall for a whole Ready's appends to it). `onSnapshotSent` tells, for each snapshot message,
   * whether it was written to the stream (not that it arrived).
   */
  async sendAll(messages: readonly Message[], onSnapshotSent: (m: Message, written: boolean) => void): Promise<void> {
    const byPeer = new Map<string, Message[]>()
    for (const m of messages) {
      const list = byPeer.get(m.to)
      if (list) list.push(m)
      else byPeer.set(m.to, [m])
    }
    await Promise.all([...byPeer].map(async ([peer, list]) => {
      const written = await this.write(peer, list)
      for (const m of list) if (m.type === 'snapshot') onSnapshotSent(m, written)
    }))
  }

  private async write(peer: string, messages: readonly Message[]): Promise<boolean> {
    const lp = await this.streamTo(peer)
    if (!lp) return false
    try {
      await lp.writeV(messages.map(encodeMessage), { signal: AbortSignal.timeout(5000) })
      return true
    } catch (err) {
      this.outbound.delete(peer)
      lp.unwrap().abort(err as Error)
      return false
    }
  }

  private streamTo(peer: string): Promise<LengthPrefixedStream<Stream> | undefined> {
    let pending = this.outbound.get(peer)
    if (!pending) {
      pending = this.mesh.dialProtocol(peerIdFromString(peer), RAFT_PROTOCOL, { signal: AbortSignal.timeout(3000) }).then(
        (stream) => {
          stream.addEventListener('close', () => this.outbound.delete(peer))
          return lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
        },
        (err) => {
          this.log.debug({ peer, err: err.message }, 'consensus peer not reachable')
          setTimeout(() => this.outbound.delete(peer), 200).unref()
          return undefined
        }
      )
      this.outbound.set(peer, pending)
    }
    return pending
  }

  private async receive(stream: Stream, connection: Connection): Promise<void> {
    const remote: PeerId = connection.remotePeer
    const from = remote.toString()
    if (!this.events.isAllowed(from)) {
      this.events.onDropped('not-a-full-member', from)
      stream.abort(new Error('not a full member'))
      return
    }
    this.inbound.add(stream)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    try {
      for (;;) {
        const frame = await lp.read()
        let m: Message
        try {
          m = decodeMessage(frame.subarray())
        } catch (err) {
          this.events.onDropped('malformed', from)
          this.log.warn({ from, err: (err as Error).message }, 'dropped a malformed consensus message')
          continue
        }
        if (m.from !== from) {
          this.events.onDropped('spoofed-sender', from)
          continue
        }
        // Checked per message too: a stream opened while the peer was a full member outlives a demotion.
        if (!this.events.isAllowed(from)) {
          this.events.onDropped('not-a-full-member', from)
          continue
        }
        this.events.onMessage(m)
      }
    } catch {
      // The stream ended or broke; the sender reopens one when it next sends.
    } finally {
      this.inbound.delete(stream)
    }
  }
}
