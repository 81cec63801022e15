// A minimal DNS client for the benchmarks (no dependency): A/NS/… questions over UDP, many in flight on
// one socket, answers parsed into { rcode, ttl, addresses }. Enough to count which addresses a weighted
// name returns; not a general resolver.
import { createSocket } from 'node:dgram'

export const QTYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, MX: 15, TXT: 16, AAAA: 28 }

/** Wire-format question for `name`, RD set (a resolver must recurse; an authoritative ignores it). */
export function encodeQuery(id, name, qtype = QTYPE.A) {
  const labels = name.replace(/\.$/, '').split('.')
  const len = 12 + labels.reduce((n, l) => n + 1 + l.length, 0) + 1 + 4
  const b = Buffer.alloc(len)
  b.writeUInt16BE(id, 0)
  b.writeUInt16BE(0x0100, 2)
  b.writeUInt16BE(1, 4)
  let o = 12
  for (const l of labels) {
    b[o++] = l.length
    o += b.write(l, o, 'latin1')
  }
  b[o++] = 0
  b.writeUInt16BE(qtype, o)
  b.writeUInt16BE(1, o + 2)
  return b
}

function skipName(b, o) {
  for (;;) {
    const len = b[o]
    if (len === 0) return o + 1
    if ((len & 0xc0) === 0xc0) return o + 2
    o += len + 1
  }
}

/** { id, rcode, ttl (min over A records), addresses (A records of the answer, in order) }. */
export function decodeResponse(b) {
  const id = b.readUInt16BE(0)
  const rcode = b[3] & 0x0f
  const qd = b.readUInt16BE(4)
  const an = b.readUInt16BE(6)
  let o = 12
  for (let i = 0; i < qd; i++) o = skipName(b, o) + 4
  const addresses = []
  let ttl
  for (let i = 0; i < an; i++) {
    o = skipName(b, o)
    const type = b.readUInt16BE(o)
    const rrTtl = b.readUInt32BE(o + 4)
    const rdlen = b.readUInt16BE(o + 8)
    o += 10
    if (type === QTYPE.A && rdlen === 4) {
      addresses.push(`${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`)
      ttl = Math.min(ttl ?? rrTtl, rrTtl)
    }
    o += rdlen
  }
  return { id, rcode, ttl, addresses }
}

/**
 * A UDP client with up to `inFlight` outstanding questions. `ask(server, name, qtype)` resolves with
 * the decoded answer, or with { timeout: true } after `timeoutMs` (no retry: a lost answer is counted).
 */
export function dnsClient({ timeoutMs = 2000 } = {}) {
  const socket = createSocket('udp4')
  const pending = new Map()
  let nextId = 1
  socket.on('message', (msg) => {
    if (msg.length < 12) return
    const id = msg.readUInt16BE(0)
    const p = pending.get(id)
    if (!p) return
    pending.delete(id)
    clearTimeout(p.timer)
    try {
      p.resolve(decodeResponse(msg))
    } catch {
      p.resolve({ malformed: true })
    }
  })
  socket.on('error', () => {})
  const ready = new Promise((r) => socket.bind(0, r))
  return {
    async ask(server, name, qtype = QTYPE.A, port = 53) {
      await ready
      let id = nextId
      while (pending.has(id)) id = (id % 65535) + 1
      nextId = (id % 65535) + 1
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id)
          resolve({ timeout: true })
        }, timeoutMs)
        pending.set(id, { resolve, timer })
        socket.send(encodeQuery(id, name, qtype), port, server)
      })
    },
    get inFlight() {
      return pending.size
    },
    close() {
      for (const p of pending.values()) clearTimeout(p.timer)
      socket.close()
    }
  }
}

/**
 * Sends `count` questions made by `next(i)` → { server, name, qtype }, at most `concurrency` in flight,
 * calling `onAnswer(answer, i, question)` for each.
 */
export async function askMany(client, count, next, onAnswer, concurrency = 64) {
  let i = 0
  const worker = async () => {
    while (i < count) {
      const k = i++
      const q = next(k)
      onAnswer(await client.ask(q.server, q.name, q.qtype ?? QTYPE.A), k, q)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
}

/**
 * Asks `next(tick)` at a fixed `rate` per second for `durationMs`, without waiting for answers
 * (open loop, as a population of clients would); `onAnswer(answer, sentAtMs, question)`.
 */
export async function askAtRate(client, rate, durationMs, next, onAnswer) {
  const t0 = performance.now()
  const inflight = new Set()
  let sent = 0
  while (performance.now() - t0 < durationMs) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate)
    for (; sent < due; sent++) {
      const q = next(sent)
      const at = performance.now()
      const p = client.ask(q.server, q.name, q.qtype ?? QTYPE.A).then((a) => {
        inflight.delete(p)
        onAnswer(a, at, q)
      })
      inflight.add(p)
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  await Promise.all(inflight)
}
