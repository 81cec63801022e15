import type { Connection, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { AddressBook } from '../membership/address-book.js'
import { ADDRESSES_FORMAT, ADDRESSES_PROTOCOL, type AddressFrame, isDialable, MAX_MEMBER_ADDRESSES, parseAddressFrame } from '../mesh/addresses.js'
import { decodeJson, encodeJson } from '../mesh/json.js'
import { type NodeContext, ownAddresses } from './context.js'

const MAX_FRAME_BYTES = 1024 * 1024
const EXCHANGE_TIMEOUT_MS = 5000

/**
 * The address exchange with other members (protocol and rules: src/mesh/addresses.ts): on each
 * connection this node opens, and on request while a member it should reach does not answer. What it
 * learns goes to `learn`, which files it in the address book and the peer store.
 */
export class AddressExchange {
  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail
    if (conn.direction === 'outbound' && this.ctx.replica.state.members.has(conn.remotePeer.toString())) {
      setTimeout(() => void this.exchange(conn.remotePeer.toString()), 100).unref()
    }
  }

  constructor(
    private readonly ctx: NodeContext,
    private readonly book: AddressBook,
    private readonly learn: (peerId: string, addresses: readonly string[], at: number) => void
  ) {}

  start(): void {
    void this.ctx.mesh.handle(ADDRESSES_PROTOCOL, (stream, connection) => void this.serve(stream, connection), { maxInboundStreams: 2, runOnLimitedConnection: false })
      .catch((err) => this.ctx.log.error({ err: (err as Error).message }, 'cannot serve the address exchange'))
    this.ctx.mesh.addEventListener('connection:open', this.onOpen)
  }

  stop(): void {
    this.ctx.mesh.removeEventListener('connection:open', this.onOpen)
    void this.ctx.mesh.unhandle(ADDRESSES_PROTOCOL).catch(() => undefined)
  }

  /** Tells `peerId` where this node and the other members listen, and takes what it says back. */
  async exchange(peerId: string): Promise<void> {
    try {
      const signal = AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)
      const stream = await this.ctx.mesh.dialProtocol(peerIdFromString(peerId), ADDRESSES_PROTOCOL, { signal })
      const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
      try {
        await lp.write(encodeJson(this.frame()), { signal })
        this.take(peerId, parseAddressFrame(decodeJson((await lp.read({ signal })).subarray())))
      } finally {
        await stream.close().catch(() => undefined)
      }
    } catch (err) {
      this.ctx.log.debug({ peerId, err: (err as Error).message }, 'address exchange failed')
    }
  }

  private async serve(stream: Stream, connection: Connection): Promise<void> {
    const from = connection.remotePeer.toString()
    if (!this.ctx.replica.state.members.has(from)) {
      stream.abort(new Error('not a member'))
      return
    }
    const signal = AbortSignal.timeout(EXCHANGE_TIMEOUT_MS)
    const lp = lpStream(stream, { maxDataLength: MAX_FRAME_BYTES })
    try {
      this.take(from, parseAddressFrame(decodeJson((await lp.read({ signal })).subarray())))
      await lp.write(encodeJson(this.frame()), { signal })
      await stream.close()
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  /** Where this node listens, and where each other member last said it listens (those never heard: their record, which all have). */
  private frame(): AddressFrame {
    const now = this.ctx.monotonic()
    const members = []
    for (const m of this.ctx.replica.state.members.values()) {
      if (m.peerId === this.ctx.selfId) continue
      const claim = this.book.get(m.peerId, now)
      if (claim) members.push({ peerId: m.peerId, addresses: claim.addresses, agoMs: claim.agoMs })
    }
    return { v: ADDRESSES_FORMAT, self: ownAddresses(this.ctx.mesh).filter(isDialable).slice(0, MAX_MEMBER_ADDRESSES), members }
  }

  /** The sender's own addresses as said now; the others' as old as the sender says they are. */
  private take(from: string, frame: AddressFrame | undefined): void {
    if (!frame) return
    const now = this.ctx.monotonic()
    this.learn(from, frame.self, now)
    for (const m of frame.members) if (m.peerId !== from) this.learn(m.peerId, m.addresses, now - m.agoMs)
  }
}
