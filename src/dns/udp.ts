import { createSocket, type Socket, type SocketOptions } from 'node:dgram'
import { isIP, isIPv6 } from 'node:net'
import { DnsListenError } from './errors.js'
import type { ListenAddress } from './listen-address.js'
import { type RespondContext, respond } from './respond.js'
import { RRL_DROP, RRL_SLIP, type RateLimiter, slipReply } from './rrl.js'

export interface UdpOptions {
  reusePort: boolean
  recvBufferSize?: number
  /** Response rate limiting, applied to every reply while it is active. */
  limiter?: RateLimiter
  onError: (err: Error) => void
}

/** One UDP socket answering with respond(); never lets a packet throw out of the handler. */
export async function bindUdp(addr: ListenAddress, ctx: RespondContext, opts: UdpOptions): Promise<Socket> {
  if (isIP(addr.host) === 0) throw new DnsListenError(`UDP host must be an IP address, got '${addr.host}'`)
  const v6 = isIPv6(addr.host)
  const sock = createSocket({
    type: v6 ? 'udp6' : 'udp4',
    lookup: v6 ? literalLookup6 : literalLookup4,
    ipv6Only: v6,
    reusePort: opts.reusePort,
    recvBufferSize: opts.recvBufferSize
  })
  sock.on('message', (msg, rinfo) => {
    if (rinfo.port === 0) return
    let out: Buffer | null
    try {
      out = respond(msg, false, ctx)
    } catch (err) {
      ctx.counters.dropped++
      opts.onError(err as Error)
      return
    }
    if (out === null) return
    const limiter = opts.limiter
    if (limiter?.active) {
      const action = limiter.check(rinfo.address, out)
      if (action === RRL_DROP) {
        ctx.counters.withdraw(out)
        return
      }
      if (action === RRL_SLIP) out = slipReply(out)
    }
    // send(msg, port, address): the form without offset/length, so dgram slices nothing; no
    // callback, so it neither allocates a completion closure nor defers anything to nextTick.
    sock.send(out, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error): void =>
      reject(new DnsListenError(`cannot bind UDP ${addr.host}:${addr.port}: ${err.message}`, { cause: err }))
    sock.once('error', fail)
    sock.bind(addr.port, addr.host, () => {
      sock.off('error', fail)
      resolve()
    })
  })
  sock.on('error', opts.onError)
  return sock
}

export function closeUdp(sock: Socket): Promise<void> {
  return new Promise((resolve) => sock.close(() => resolve()))
}

type LookupCallback = (err: null, address: string, family: number) => void

/**
 * dgram runs the socket's lookup before every send(). Every address a DNS socket sees is an IP
 * literal of the socket's own family (listen hosts are checked; replies go to rinfo.address), so
 * the lookup is the identity: synchronous (the default defers each send to nextTick) and with the
 * family known from the socket (the default, and an isIPv6() test, run a long regular expression
 * per packet: about 2 % of the CPU time of a saturated server in a perf profile on Node 24).
 */
const literalLookup4 = ((address: string, _family: unknown, cb: LookupCallback): void => cb(null, address, 4)) as unknown as SocketOptions['lookup']
const literalLookup6 = ((address: string, _family: unknown, cb: LookupCallback): void => cb(null, address, 6)) as unknown as SocketOptions['lookup']

let reusePortSupport: Promise<boolean> | undefined

/** Feature test: can two UDP sockets share a port (dgram reusePort, Node ≥ 22.12 / 23.1 on Linux)? */
export function udpReusePortSupported(): Promise<boolean> {
  reusePortSupport ??= (async () => {
    const a = createSocket({ type: 'udp4', reusePort: true })
    const b = createSocket({ type: 'udp4', reusePort: true })
    a.on('error', () => {})
    b.on('error', () => {})
    try {
      await new Promise<void>((res, rej) => {
        a.once('error', rej)
        a.bind(0, '127.0.0.1', res)
      })
      const port = a.address().port
      await new Promise<void>((res, rej) => {
        b.once('error', rej)
        b.bind(port, '127.0.0.1', res)
      })
      return true
    } catch {
      return false
    } finally {
      for (const s of [a, b]) {
        try {
          s.close()
        } catch {
          // never bound
        }
      }
    }
  })()
  return reusePortSupport
}
