import { createServer, type Server, type Socket } from 'node:net'
import { isIPv6 } from 'node:net'
import { DnsListenError } from './errors.js'
import type { ListenAddress } from './listen-address.js'
import { type RespondContext, respond } from './respond.js'

export interface TcpOptions {
  /** Read at each new connection, so a change applies to the next one. */
  idleTimeoutMs: number
  maxConnections: number
  /** Open connections per client address (all listeners together); more are closed at once. */
  maxPerSource: number
  onError: (err: Error) => void
}

/** Open connections by client address, shared by the listeners of one server. */
export type TcpSources = Map<string, number>

/** Replies a client has not read yet beyond which its connection is dropped. */
const MAX_UNREAD_BYTES = 1 << 20

/**
 * RFC 7766: 2-octet length framing, pipelined queries answered in order as they complete,
 * idle timeout, connection limits (in all and per client address, so that one source cannot hold
 * every slot that the clients sent to TCP by a truncated reply need). A frame shorter than a DNS
 * header closes the connection.
 */
export async function listenTcp(
  addr: ListenAddress,
  ctx: RespondContext,
  opts: TcpOptions,
  connections: Set<Socket>,
  sources: TcpSources
): Promise<Server> {
  const server = createServer({ noDelay: true }, (sock) => {
    const source = sock.remoteAddress ?? ''
    const open = sources.get(source) ?? 0
    if (open >= opts.maxPerSource) {
      ctx.counters.tcpRefused++
      sock.destroy()
      return
    }
    sources.set(source, open + 1)
    connections.add(sock)
    sock.on('close', () => {
      connections.delete(sock)
      const n = (sources.get(source) ?? 1) - 1
      if (n > 0) sources.set(source, n)
      else sources.delete(source)
    })
    sock.on('error', () => sock.destroy())
    sock.setTimeout(opts.idleTimeoutMs, () => sock.destroy())
    let pending: Buffer | null = null
    sock.on('data', (chunk: Buffer) => {
      const buf = pending === null ? chunk : Buffer.concat([pending, chunk])
      let off = 0
      while (buf.length - off >= 2) {
        const len = buf.readUInt16BE(off)
        if (len < 12) {
          sock.destroy()
          return
        }
        if (buf.length - off - 2 < len) break
        const msg = buf.subarray(off + 2, off + 2 + len)
        off += 2 + len
        let out: Buffer | null
        try {
          out = respond(msg, true, ctx)
        } catch (err) {
          ctx.counters.dropped++
          opts.onError(err as Error)
          out = null
        }
        if (out === null) continue
        const frame = Buffer.allocUnsafe(out.length + 2)
        frame.writeUInt16BE(out.length, 0)
        out.copy(frame, 2)
        sock.write(frame)
        if (sock.writableLength > MAX_UNREAD_BYTES) {
          sock.destroy()
          return
        }
      }
      pending = off < buf.length ? Buffer.from(buf.subarray(off)) : null
    })
  })
  server.maxConnections = opts.maxConnections
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void =>
      reject(new DnsListenError(`cannot listen on TCP ${addr.host}:${addr.port}: ${err.message}`, { cause: err }))
    server.once('error', fail)
    server.listen({ host: addr.host, port: addr.port, ipv6Only: isIPv6(addr.host) }, () => {
      server.off('error', fail)
      resolve()
    })
  })
  server.on('error', opts.onError)
  return server
}

export function closeTcp(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
