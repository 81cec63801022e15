// Worker-thread entry: one more UDP socket on the same ports (SO_REUSEPORT), its own zone copy.
import { parentPort, workerData } from 'node:worker_threads'
import { compileZone } from './compile.js'
import type { CompiledZone } from './zone.js'
import { DnsCounters } from './counters.js'
import type { RespondContext } from './respond.js'
import { RateLimiter } from './rrl.js'
import { bindUdp, closeUdp } from './udp.js'
import type { FromWorker, ToWorker, WorkerInit, ZoneTransfer } from './worker-messages.js'

const init = workerData as WorkerInit
const port = parentPort!
const post = (m: FromWorker): void => port.postMessage(m)

/** Health overrides of the main thread, to apply again when this thread recompiles on its own. */
let health = new Map<string, boolean>()

function load(z: ZoneTransfer): CompiledZone {
  health = new Map(z.health)
  const zone = compileZone({ ...z.spec, users: undefined }, z.nowMs, z.users)
  for (const [id, healthy] of health) zone.setTargetHealth(id, healthy)
  return zone
}

function newSerial(serial: number): CompiledZone {
  const old = ctx.zone
  const zone = compileZone({ ...old.spec, serial, users: undefined }, Date.now(), old.users)
  for (const [id, healthy] of health) zone.setTargetHealth(id, healthy)
  return zone
}

const counters = new DnsCounters()
const ctx: RespondContext = { zone: load(init.zone), random: Math.random, counters, maxUdpPayload: init.maxUdpPayload }
const onError = (): void => {}
// Each thread limits the flows the kernel hashes to it (per-thread tables, as NSD's per-process ones).
const limiter = new RateLimiter(init.rateLimit, undefined, (prefix, kind) => post({ t: 'limited', prefix, kind }))

const sockets = await Promise.all(
  init.udp.map((a) => bindUdp(a, ctx, { reusePort: true, recvBufferSize: init.recvBufferSize, limiter, onError }))
).catch((err: Error) => {
  post({ t: 'error', message: err.message })
  return null
})
if (sockets) {
  const snapshot = () => ({ ...counters.snapshot(), rateLimited: limiter.snapshot() })
  const timer = setInterval(() => post({ t: 'counters', counters: snapshot(), final: false }), 1000)
  timer.unref()
  port.on('message', async (m: ToWorker) => {
    if (m.t === 'zone') ctx.zone = load(m.zone)
    else if (m.t === 'user') ctx.zone.setUser(m.username, m.core)
    else if (m.t === 'health') {
      if (m.healthy === null) health.delete(m.id)
      else health.set(m.id, m.healthy)
      ctx.zone.setTargetHealth(m.id, m.healthy)
    } else if (m.t === 'serial') ctx.zone = newSerial(m.serial)
    else if (m.t === 'limits') {
      ctx.maxUdpPayload = m.maxUdpPayload
      limiter.configure(m.rateLimit)
    }
    else {
      clearInterval(timer)
      await Promise.all(sockets.map(closeUdp))
      post({ t: 'counters', counters: snapshot(), final: true })
      port.close()
    }
  })
  post({ t: 'ready' })
}
