/** DNS numbers used by the server (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891, RFC 8659). */
export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
  CAA: 257
} as const

export const CLASS_IN = 1

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  BADVERS: 16
} as const

/** Largest UDP payload this server advertises and sends (DNS flag day 2020). */
export const DEFAULT_MAX_UDP_PAYLOAD = 1232
/**
 * SO_RCVBUF asked for each UDP socket, in octets. Linux caps it at net.core.rmem_max (often
 * 208 KiB, about 350 small datagrams queued; raise it to get the full size). The queue absorbs
 * bursts while a thread is busy elsewhere (a zone recompile with 100k users takes ~150 ms).
 */
export const DEFAULT_UDP_RECV_BUFFER_SIZE = 4 << 20
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 10_000
export const DEFAULT_MAX_TCP_CONNECTIONS = 1000
/** Enough for a resolver's parallel retries after truncated replies; a flood from one address gets no more. */
export const DEFAULT_TCP_CONNECTIONS_PER_SOURCE = 10
export const DEFAULT_SUBSET_SIZE = 1
/** Bounds the per-query selection buffers (respond.ts). */
export const MAX_WEIGHTED_TARGETS = 1024
/** CNAME chains longer than this inside the zone are answered with the chain so far. */
export const MAX_CNAME_CHAIN = 8

export const DEFAULT_TTL = {
  A: 300,
  AAAA: 300,
  CNAME: 300,
  MX: 3600,
  TXT: 300,
  CAA: 3600,
  SRV: 300,
  NS: 3600,
  SOA: 3600,
  HINFO: 3600,
  weighted: 30,
  user: 300,
  acme: 30
} as const

export const DEFAULT_SOA = {
  refresh: 3600,
  retry: 900,
  expire: 604800,
  minimum: 60
} as const
