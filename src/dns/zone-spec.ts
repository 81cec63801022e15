/**
 * The plain-data input of the DNS server. A pure function elsewhere builds it from replicated
 * state; compileZone() turns it into wire-format answers. Names are relative to `domain`
 * ("www", "foo.bar", "@" for the apex) unless they end with a dot ("mail.example.org.").
 * Names are ASCII; escapes are not supported.
 */
export interface ZoneSpec {
  /** Apex of the zone, e.g. "pryv.example.com". */
  domain: string
  /** SOA serial; the applied revision of the replicated state (uint32). */
  serial: number
  soa?: SoaSpec
  /** Per-type TTL defaults in seconds; missing ones come from DEFAULT_TTL. */
  ttl?: Partial<TtlDefaults>
  /** Authoritative servers: NS at the apex, plus A/AAAA (glue) when the name is in the zone. */
  nameServers: NameServerSpec[]
  /** `<name>.<domain>` → addresses, one A/AAAA RRset per node. */
  nodes?: NodeSpec[]
  records?: StaticRecord[]
  /** Names answered with a weighted random subset of healthy targets (A/AAAA only). */
  weighted?: WeightedNameSpec[]
  /** Subset size of weighted answers when a name sets none; default 1. */
  defaultSubsetSize?: number
  /** username → core node name; `<username>.<domain>` answers for that core. */
  users?: ReadonlyMap<string, string> | Readonly<Record<string, string>>
  /** "cname" (default): CNAME to `<core>.<domain>` plus its addresses; "address": A/AAAA directly. */
  userAnswer?: UserAnswerMode
  acme?: AcmeChallengeSpec[]
  /**
   * Other apexes answered like this one (legacy domains): the same names relative to each, and
   * the same users (their answers point at the cores under `domain`).
   */
  aliasDomains?: string[]
}

export type UserAnswerMode = 'cname' | 'address'

export interface TtlDefaults {
  A: number
  AAAA: number
  CNAME: number
  MX: number
  TXT: number
  CAA: number
  SRV: number
  NS: number
  SOA: number
  /** RFC 8482 HINFO answers to ANY. */
  HINFO: number
  /** A/AAAA of weighted names: short, so resolvers draw again soon. */
  weighted: number
  /** A/AAAA/CNAME answers for users. */
  user: number
  acme: number
}

export interface SoaSpec {
  /** Primary server; default: the first name server. */
  mname?: string
  /** Mailbox as a name; default `hostmaster.<domain>`. */
  rname?: string
  refresh?: number
  retry?: number
  expire?: number
  /** Negative-caching TTL (RFC 2308 §4); negative answers carry min(SOA TTL, minimum). */
  minimum?: number
}

export interface NameServerSpec {
  name: string
  addresses: string[]
}

export interface NodeSpec {
  name: string
  addresses: string[]
}

export type StaticRecord =
  | { name: string; type: 'A' | 'AAAA'; address: string; ttl?: number }
  | { name: string; type: 'CNAME'; target: string; ttl?: number }
  | { name: string; type: 'MX'; preference: number; exchange: string; ttl?: number }
  /** One RR; each string is one character-string (longer ones are split at 255 octets). */
  | { name: string; type: 'TXT'; text: string | string[]; ttl?: number }
  | { name: string; type: 'CAA'; flags?: number; tag: string; value: string; ttl?: number }
  | {
      name: string
      type: 'SRV'
      priority: number
      weight: number
      port: number
      target: string
      ttl?: number
    }
  /** Served as authoritative data at that name (no delegation semantics). */
  | { name: string; type: 'NS'; host: string; ttl?: number }

export interface WeightedNameSpec {
  name: string
  targets: WeightedTargetSpec[]
  /** How many targets one answer holds; default ZoneSpec.defaultSubsetSize. */
  subsetSize?: number
  ttl?: number
}

export interface WeightedTargetSpec {
  /** Stable id (e.g. node id): the key of setTargetHealth() and of the answer counters. */
  id: string
  addresses: string[]
  /** Relative share; 0 = drained (never answered). */
  weight: number
  healthy: boolean
}

export interface AcmeChallengeSpec {
  /** Owner, default "_acme-challenge" (the apex challenge); e.g. "_acme-challenge.reg". */
  name?: string
  value: string
  /** Epoch milliseconds after which the record is no longer served. */
  expiresAtMs: number
}
