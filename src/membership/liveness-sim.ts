import type { Heartbeat, LivenessReport } from '../mesh/liveness.js'
import { LIVENESS_FORMAT } from '../mesh/liveness.js'
import { seededRandom } from '../seeded-random.js'
import { LivenessCore, type LivenessTimings } from './liveness.js'

/**
 * A seeded, deterministic simulation of the liveness protocol (./liveness.ts) with N nodes in one
 * process: the real LivenessCore on every node, a virtual clock, and a network that loses and delays
 * messages. Next to it, the protocol it replaced (every node gossips a signed heartbeat every second
 * and every node checks every one), on the same network, as the reference.
 */
export interface SimulationOptions {
  readonly nodes: number
  /** Full members (reporters, receivers of heartbeats); the rest are observers. */
  readonly full: number
  readonly seconds: number
  /** Probability that one message (a frame, or one node's copy of a report) is lost. */
  readonly loss: number
  /** Probability that a message is slow (200–2000 ms instead of 1–20 ms). */
  readonly slow: number
  readonly seed: number
  /** When one observer and one full member are killed (ms); default 2/3 of the run. */
  readonly killAtMs?: number
  readonly timings?: LivenessTimings
}

export interface ProtocolFigures {
  /**
   * Messages sent + received per node per second (frames, reports or heartbeats): a gossiped message
   * counts once for its publisher and once for each node it reaches (unique deliveries; gossipsub's
   * forwarding copies and IHAVE/IWANT are not counted, for either protocol).
   */
  readonly messagesPerSecond: { readonly full: number, readonly observer: number }
  /** Signatures checked per node per second. */
  readonly signatureChecksPerSecond: { readonly full: number, readonly observer: number }
  /** Payload bytes sent + received per node per second (JSON; framing and encryption not counted). */
  readonly bytesPerSecond: { readonly full: number, readonly observer: number }
  /** Kill → seen dead, ms, over every surviving node's view: the killed observer, the killed full member. */
  readonly detection: { readonly observer: Percentiles, readonly full: Percentiles }
  /** Live members seen dead by some node after the warm-up: checks (one per node pair every 2 s) that were wrong, and distinct pairs. */
  readonly falsePositives: { readonly checks: number, readonly wrong: number, readonly pairs: number }
}

export interface Percentiles {
  readonly p50: number
  readonly p99: number
  readonly max: number
  /** Surviving nodes that never saw it dead before the end. */
  readonly missed: number
}

export interface SimulationResult {
  readonly options: Required<Omit<SimulationOptions, 'timings'>> & { readonly timings: LivenessTimings }
  readonly protocol: ProtocolFigures
  readonly reference: ProtocolFigures
}

const DEFAULT_TIMINGS: LivenessTimings = { heartbeatMs: 1000, deadAfterMs: 4000 }
const CHECK_EVERY_MS = 250
/** Nodes check the liveness of others every this often in the reference (the DNS health update). */
const REFERENCE_CHECK_MS = 500
const WARMUP_MS = 10_000
const FP_CHECK_MS = 2000

export function simulateLiveness(opts: SimulationOptions): SimulationResult {
  const timings = opts.timings ?? DEFAULT_TIMINGS
  const options = { ...opts, killAtMs: opts.killAtMs ?? Math.round((opts.seconds * 1000 * 2) / 3), timings }
  return { options, protocol: simulateProtocol(options), reference: simulateReference(options) }
}


class EventQueue {
  private readonly heap: Array<{ t: number, n: number, run: () => void }> = []
  private n = 0
  push(t: number, run: () => void): void {
    const h = this.heap
    h.push({ t, n: this.n++, run })
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (before(h[p]!, h[i]!)) break
      ;[h[p], h[i]] = [h[i]!, h[p]!]
      i = p
    }
  }
  pop(): { t: number, run: () => void } | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (h.length > 0 && last) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l]!, h[m]!)) m = l
        if (r < h.length && before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[m], h[i]] = [h[i]!, h[m]!]
        i = m
      }
    }
    return top
  }
}

function before(a: { t: number, n: number }, b: { t: number, n: number }): boolean {
  return a.t < b.t || (a.t === b.t && a.n < b.n)
}

type Options = SimulationResult['options']

interface Network {
  /** Undefined when the message is lost; else its delay (ms). */
  deliver(): number | undefined
}

function network(opts: Options, rnd: () => number): Network {
  return {
    deliver: () => {
      if (rnd() < opts.loss) return undefined
      return rnd() < opts.slow ? 200 + rnd() * 1800 : 1 + rnd() * 19
    }
  }
}

const id = (i: number): string => `n${i}`
const heartbeatOf = (i: number, revision: number): Heartbeat => ({ name: id(i), addresses: [`/ip4/10.0.${i >> 8}.${i & 255}/tcp/7400`], revision, version: '0.1.0' })
const bytes = (value: unknown): number => JSON.stringify(value).length

function percentiles(values: number[], missed: number): Percentiles {
  const s = [...values].sort((a, b) => a - b)
  const at = (q: number): number => (s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.ceil((q / 100) * s.length) - 1)]!)
  return { p50: at(50), p99: at(99), max: s.length ? s[s.length - 1]! : Number.NaN, missed }
}

interface Tally {
  messages: number[]
  checks: number[]
  bytes: number[]
}

function tally(n: number): Tally {
  return { messages: new Array(n).fill(0), checks: new Array(n).fill(0), bytes: new Array(n).fill(0) }
}

function perSecond(t: Tally, opts: Options, key: keyof Tally): { full: number, observer: number } {
  const seconds = opts.seconds
  const avg = (from: number, to: number): number => {
    let sum = 0
    for (let i = from; i < to; i++) sum += t[key][i]!
    return to > from ? sum / (to - from) / seconds : 0
  }
  return { full: avg(0, opts.full), observer: avg(opts.full, opts.nodes) }
}

/** Nodes 0..full-1 are full members; the killed ones are the last observer and the last full member. */
function victims(opts: Options): { observer: number, full: number } {
  return { observer: opts.nodes - 1, full: opts.full - 1 }
}

function simulateProtocol(opts: Options): ProtocolFigures {
  const rnd = seededRandom(opts.seed)
  const net = network(opts, rnd)
  const q = new EventQueue()
  const n = opts.nodes
  const end = opts.seconds * 1000
  const roster = Array.from({ length: n }, (_, i) => ({ peerId: id(i), full: i < opts.full }))
  const cores = Array.from({ length: n }, (_, i) => {
    const c = new LivenessCore(opts.timings, 1 + i)
    c.setRoster(id(i), roster, 0)
    return c
  })
  const alive = new Array<boolean>(n).fill(true)
  const t = tally(n)
  const kill = victims(opts)
  const detected = { observer: new Map<number, number>(), full: new Map<number, number>() }
  let fpChecks = 0
  let fpWrong = 0
  const fpPairs = new Set<string>()

  /** `counted: false` for one copy of a gossiped report: the publisher is counted once for all of them. */
  const send = (from: number, to: number, size: number, now: number, arrive: (at: number) => void, counted = true): void => {
    if (counted) {
      t.messages[from]!++
      t.bytes[from]! += size
    }
    const delay = net.deliver()
    if (delay === undefined) return
    q.push(now + delay, () => {
      if (!alive[to]) return
      t.messages[to]!++
      t.bytes[to]! += size
      arrive(now + delay)
    })
  }

  const check = (i: number, now: number): void => {
    if (!alive[i] || now > end) return
    const report: LivenessReport | undefined = cores[i]!.nextReport(now, now)
    if (report) {
      const size = bytes(report)
      t.messages[i]!++
      t.bytes[i]! += size
      for (let j = 0; j < n; j++) {
        if (j === i) continue
        send(i, j, size, now, (at) => {
          t.checks[j]!++
          cores[j]!.receiveReport(id(i), report, at, at)
        }, false)
      }
    }
    if (now >= opts.killAtMs) {
      for (const [kind, victim] of [['observer', kill.observer], ['full', kill.full]] as const) {
        if (i !== victim && !detected[kind].has(i) && !cores[i]!.view(id(victim), now).alive) detected[kind].set(i, now - opts.killAtMs)
      }
    }
    q.push(now + CHECK_EVERY_MS, () => check(i, now + CHECK_EVERY_MS))
  }

  const falsePositives = (now: number): void => {
    if (now > end) return
    if (now >= WARMUP_MS) {
      for (let j = 0; j < n; j++) {
        if (!alive[j]) continue
        for (let k = 0; k < n; k++) {
          if (k === j || !alive[k]) continue
          fpChecks++
          if (!cores[j]!.view(id(k), now).alive) {
            fpWrong++
            fpPairs.add(`${j}>${k}`)
          }
        }
      }
    }
    q.push(now + FP_CHECK_MS, () => falsePositives(now + FP_CHECK_MS))
  }

  for (let i = 0; i < n; i++) {
    const first = rnd() * opts.timings.heartbeatMs
    q.push(first, () => beatLoop(i, first))
    const firstCheck = rnd() * CHECK_EVERY_MS
    q.push(firstCheck, () => check(i, firstCheck))
  }
  // Heartbeats with jitter: each beat schedules the next at its own time.
  function beatLoop(i: number, now: number): void {
    if (!alive[i] || now > end) return
    const heartbeat = (f: number, at: number): void => {
      const frame = { v: LIVENESS_FORMAT, heartbeat: heartbeatOf(i, 1) }
      send(i, f, bytes(frame), at, (arrived) => {
        cores[f]!.heardDirectly(id(i), frame.heartbeat, arrived)
        const reply = { v: LIVENESS_FORMAT, heartbeat: heartbeatOf(f, 1), echo: 0 }
        send(f, i, bytes(reply), arrived, (back) => cores[i]!.heardDirectly(id(f), reply.heartbeat, back))
      })
    }
    for (let f = 0; f < opts.full; f++) if (f !== i) heartbeat(f, now)
    // As the driver does: a heartbeat not answered within half a period is sent once more.
    const retryAt = now + opts.timings.heartbeatMs / 2
    q.push(retryAt, () => {
      if (!alive[i]) return
      for (let f = 0; f < opts.full; f++) if (f !== i && (cores[i]!.lastHeardAt(id(f)) ?? -1) < now) heartbeat(f, retryAt)
    })
    const next = now + opts.timings.heartbeatMs * (0.9 + rnd() * 0.2)
    q.push(next, () => beatLoop(i, next))
  }
  q.push(0, () => falsePositives(0))
  q.push(opts.killAtMs, () => {
    alive[kill.observer] = false
    alive[kill.full] = false
  })
  for (let e = q.pop(); e; e = q.pop()) e.run()

  const survivors = n - 2
  return {
    messagesPerSecond: perSecond(t, opts, 'messages'),
    signatureChecksPerSecond: perSecond(t, opts, 'checks'),
    bytesPerSecond: perSecond(t, opts, 'bytes'),
    detection: {
      observer: percentiles([...detected.observer.values()], survivors - detected.observer.size),
      full: percentiles([...detected.full.values()], survivors - detected.full.size)
    },
    falsePositives: { checks: fpChecks, wrong: fpWrong, pairs: fpPairs.size }
  }
}

/**
 * The replaced protocol: every node gossips a signed heartbeat every second; every node checks each
 * one it receives (one signature each) and counts a member alive if heard within deadAfterMs, checked
 * every 500 ms. Computed per (sender, receiver) pair from the deliveries, on the same network.
 */
function simulateReference(opts: Options): ProtocolFigures {
  const rnd = seededRandom(opts.seed ^ 0x5eed)
  const net = network(opts, rnd)
  const n = opts.nodes
  const end = opts.seconds * 1000
  const dead = opts.timings.deadAfterMs
  const t = tally(n)
  const kill = victims(opts)
  const detected = { observer: [] as number[], full: [] as number[] }
  let missed = { observer: 0, full: 0 }
  let fpChecks = 0
  let fpWrong = 0
  let fpPairs = 0
  const size = bytes({ ...heartbeatOf(0, 1), clock: Date.now() }) + 100 // + the gossipsub signature, key and envelope
  // Each node checks on its own schedule.
  const checkPhase = Array.from({ length: n }, () => rnd() * REFERENCE_CHECK_MS)
  for (let s = 0; s < n; s++) {
    const stop = s === kill.observer || s === kill.full ? opts.killAtMs : end
    const phase = rnd() * opts.timings.heartbeatMs
    const sent: number[] = []
    for (let at = phase; at < stop; at += opts.timings.heartbeatMs) sent.push(at)
    t.messages[s]! += sent.length
    t.bytes[s]! += sent.length * size
    for (let r = 0; r < n; r++) {
      if (r === s) continue
      const receiverUntil = r === kill.observer || r === kill.full ? opts.killAtMs : end
      const arrivals: number[] = []
      for (const at of sent) {
        const delay = net.deliver()
        if (delay === undefined || at + delay > receiverUntil) continue
        arrivals.push(at + delay)
      }
      arrivals.sort((a, b) => a - b)
      t.messages[r]! += arrivals.length
      t.checks[r]! += arrivals.length
      t.bytes[r]! += arrivals.length * size
      if (receiverUntil < end) continue
      if (s === kill.observer || s === kill.full) {
        const kind = s === kill.observer ? 'observer' : 'full'
        const last = arrivals.length ? arrivals[arrivals.length - 1]! : 0
        const seenDeadAt = checkPhase[r]! + Math.ceil((last + dead - checkPhase[r]!) / REFERENCE_CHECK_MS) * REFERENCE_CHECK_MS
        if (seenDeadAt <= end) detected[kind].push(Math.max(0, seenDeadAt - opts.killAtMs))
        else missed = { ...missed, [kind]: missed[kind] + 1 }
        continue
      }
      // Wrong when a check every FP_CHECK_MS after the warm-up finds no arrival within deadAfterMs.
      let wrongHere = 0
      let k = 0
      let last = Number.NEGATIVE_INFINITY
      for (let c = WARMUP_MS; c <= end; c += FP_CHECK_MS) {
        while (k < arrivals.length && arrivals[k]! <= c) last = arrivals[k++]!
        fpChecks++
        if (c - last > dead) wrongHere++
      }
      fpWrong += wrongHere
      if (wrongHere > 0) fpPairs++
    }
  }
  return {
    messagesPerSecond: perSecond(t, opts, 'messages'),
    signatureChecksPerSecond: perSecond(t, opts, 'checks'),
    bytesPerSecond: perSecond(t, opts, 'bytes'),
    detection: { observer: percentiles(detected.observer, missed.observer), full: percentiles(detected.full, missed.full) },
    falsePositives: { checks: fpChecks, wrong: fpWrong, pairs: fpPairs }
  }
}
