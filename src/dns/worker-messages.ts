import type { DnsCountersSnapshot } from './counters.js'
import type { ListenAddress } from './listen-address.js'
import type { RateLimitConfig, RrlKind } from './rrl.js'
import type { ZoneSpec } from './zone-spec.js'

/** The zone as it crosses a thread boundary: spec, time, users map (with incremental updates), health overrides. */
export interface ZoneTransfer {
  spec: ZoneSpec
  nowMs: number
  users: Map<string, string>
  health: [string, boolean][]
}

export interface WorkerInit {
  udp: ListenAddress[]
  maxUdpPayload: number
  rateLimit: RateLimitConfig
  recvBufferSize?: number
  zone: ZoneTransfer
}

export type ToWorker =
  | { t: 'zone'; zone: ZoneTransfer }
  | { t: 'user'; username: string; core: string | null }
  | { t: 'health'; id: string; healthy: boolean | null }
  | { t: 'serial'; serial: number }
  | { t: 'limits'; maxUdpPayload: number; rateLimit: RateLimitConfig }
  | { t: 'stop' }

export type FromWorker =
  | { t: 'ready' }
  | { t: 'error'; message: string }
  | { t: 'counters'; counters: DnsCountersSnapshot; final: boolean }
  | { t: 'limited'; prefix: string; kind: RrlKind }
