import {
  type Answer,
  type FragmentAnswer,
  KIND_FRAGMENT,
  KIND_PACKET,
  KIND_WEIGHTED,
  type NameEntry
} from './answers.js'
import {
  DEFAULT_SOA,
  DEFAULT_SUBSET_SIZE,
  DEFAULT_TTL,
  MAX_CNAME_CHAIN,
  MAX_WEIGHTED_TARGETS,
  TYPE
} from './constants.js'
import { ZoneSpecError } from './errors.js'
import { ipBytes } from './ip.js'
import { absoluteName, inZone, wireKey } from './names.js'
import { addressRR, caaRR, hinfoRR, mxRR, nameRR, soaRR, srvRR, txtRR } from './rdata.js'
import {
  type Encoded,
  type Owner,
  QNAME,
  type RR,
  SECTION_ADDITIONAL,
  SECTION_AUTHORITY,
  Writer
} from './writer.js'
import { type Family, type TargetState, type WeightedSet, weightedSet } from './weighted.js'
import { CompiledZone, USERNAME, type UserAnswerBuilder } from './zone.js'
import type { StaticRecord, TtlDefaults, UserAnswerMode, ZoneSpec } from './zone-spec.js'

/** Types precompiled for names that own a CNAME (anything else uses the fallback answer). */
const CHASED_TYPES = [TYPE.A, TYPE.NS, TYPE.CNAME, TYPE.SOA, TYPE.MX, TYPE.TXT, TYPE.AAAA, TYPE.SRV, TYPE.CAA]

/**
 * Pure: the same spec and time give the same zone. Throws ZoneSpecError on an invalid spec.
 * `users`: the users of a zone compiled before for the same domain (CompiledZone.users), adopted
 * as they are instead of `spec.users`: a new serial or an expiry costs nothing per user.
 */
export function compileZone(spec: ZoneSpec, nowMs: number = Date.now(), users?: Map<string, string>): CompiledZone {
  const zone = new Builder(spec, nowMs, users).build()
  const aliases = [...new Set((spec.aliasDomains ?? []).map((d) => absoluteName(`${d.replace(/\.$/, '')}.`, '')))].filter((d) => d !== zone.domain)
  if (aliases.length === 0) return zone
  zone.aliases = aliases.map((domain) => {
    if (inZone(domain, zone.domain) || inZone(zone.domain, domain)) {
      throw new ZoneSpecError(`alias domain '${domain}' overlaps the zone '${zone.domain}'`)
    }
    const alias = new Builder(aliasSpec(spec, domain, zone.domain), nowMs, zone.users).build()
    alias.userSuffix = zone.apexKey
    return alias
  })
  return zone
}

/** The spec of an alias domain: owners under the main domain become relative, so they move with it. */
function aliasSpec(spec: ZoneSpec, alias: string, domain: string): ZoneSpec {
  const relative = (name: string): string => {
    if (!name.endsWith('.')) return name
    const n = name.slice(0, -1).toLowerCase()
    if (n === domain) return '@'
    return n.endsWith(`.${domain}`) ? n.slice(0, -domain.length - 1) : name
  }
  return {
    ...spec,
    domain: alias,
    aliasDomains: undefined,
    users: undefined,
    records: spec.records?.map((r) => ({ ...r, name: relative(r.name) })),
    weighted: spec.weighted?.map((w) => ({ ...w, name: relative(w.name) })),
    acme: spec.acme?.map((a) => ({ ...a, name: a.name === undefined ? undefined : relative(a.name) }))
  }
}

class Builder implements UserAnswerBuilder {
  readonly domain: string
  private readonly ttl: TtlDefaults
  private readonly owners = new Map<string, Map<number, RR[]>>()
  private readonly weighted = new Map<string, WeightedSet>()
  private readonly existing = new Set<string>()
  private readonly users: Map<string, string>
  private readonly cores = new Map<string, string>()
  private readonly soaNegative: RR
  private readonly mode: UserAnswerMode
  private nextExpiryMs = Number.POSITIVE_INFINITY
  private skippedUsers = 0
  private nodataAnswer!: FragmentAnswer

  private readonly adoptedUsers: boolean

  constructor(
    private readonly spec: ZoneSpec,
    private readonly nowMs: number,
    users?: Map<string, string>
  ) {
    this.users = users ?? new Map()
    this.adoptedUsers = users !== undefined
    if (typeof spec.domain !== 'string' || spec.domain.length === 0) throw new ZoneSpecError('domain is required')
    this.domain = absoluteName(`${spec.domain.replace(/\.$/, '')}.`, '')
    if (!Number.isInteger(spec.serial) || spec.serial < 0 || spec.serial > 0xffffffff) {
      throw new ZoneSpecError(`serial must be an integer in 0..4294967295, got ${spec.serial}`)
    }
    this.ttl = { ...DEFAULT_TTL, ...spec.ttl }
    for (const [k, v] of Object.entries(this.ttl)) checkTtl(v, `ttl.${k}`)
    this.mode = spec.userAnswer ?? 'cname'
    if (!spec.nameServers || spec.nameServers.length === 0) throw new ZoneSpecError('at least one name server is required')
    const soa = { ...DEFAULT_SOA, ...spec.soa }
    for (const k of ['refresh', 'retry', 'expire', 'minimum'] as const) checkTtl(soa[k], `soa.${k}`)
    const fields = {
      mname: this.name(spec.soa?.mname ?? spec.nameServers[0]!.name),
      rname: this.name(spec.soa?.rname ?? 'hostmaster'),
      serial: spec.serial,
      refresh: soa.refresh,
      retry: soa.retry,
      expire: soa.expire,
      minimum: soa.minimum
    }
    this.add(this.domain, soaRR(fields, this.ttl.SOA))
    // RFC 2308 §3: the SOA in a negative answer carries min(SOA TTL, MINIMUM).
    this.soaNegative = soaRR(fields, Math.min(this.ttl.SOA, soa.minimum))
  }

  build(): CompiledZone {
    const { spec, ttl } = this
    for (const ns of spec.nameServers) {
      const host = this.name(ns.name)
      this.add(this.domain, nameRR(TYPE.NS, host, ttl.NS))
      if (inZone(host, this.domain)) this.addAddresses(host, ns.addresses)
    }
    for (const node of spec.nodes ?? []) this.addAddresses(this.name(node.name), node.addresses)
    for (const r of spec.records ?? []) this.addStatic(r)
    for (const a of spec.acme ?? []) {
      if (a.expiresAtMs <= this.nowMs) continue
      this.nextExpiryMs = Math.min(this.nextExpiryMs, a.expiresAtMs)
      this.add(this.name(a.name ?? '_acme-challenge'), txtRR(a.value, ttl.acme))
    }
    const targets = new Map<string, TargetState[]>()
    for (const w of spec.weighted ?? []) this.addWeighted(w, targets)
    this.addUsers()

    for (const [name, sets] of this.owners) {
      if (!inZone(name, this.domain)) throw new ZoneSpecError(`record '${name}' is outside the zone '${this.domain}'`)
      const cname = sets.get(TYPE.CNAME)
      if (cname && (cname.length > 1 || sets.size > 1 || this.weighted.has(name))) {
        throw new ZoneSpecError(`'${name}' has a CNAME and other data (RFC 1034 §3.6.2)`)
      }
    }
    for (const name of [...this.owners.keys(), ...this.weighted.keys()]) {
      for (let n = name; n !== this.domain; n = n.slice(n.indexOf('.') + 1)) this.existing.add(n)
    }
    this.existing.add(this.domain)

    const nxdomain = this.negative(3)
    this.nodataAnswer = this.negative(0)
    const hinfo = this.fragment((w) => w.rr(QNAME, hinfoRR(ttl.HINFO)), 0)
    const names = new Map<string, NameEntry>()
    for (const name of this.existing) {
      const sets = this.owners.get(name)
      const types = new Map<number, Answer>()
      if (sets?.has(TYPE.CNAME)) {
        for (const t of CHASED_TYPES) types.set(t, this.exact(name, t))
        names.set(wireKey(name), {
          types,
          fallback: this.exact(name, 0),
          any: types.get(TYPE.CNAME)!,
          ent: false
        })
        continue
      }
      for (const t of sets?.keys() ?? []) types.set(t, this.exact(name, t))
      if (this.weighted.has(name)) {
        types.set(TYPE.A, this.exact(name, TYPE.A))
        types.set(TYPE.AAAA, this.exact(name, TYPE.AAAA))
      }
      const ent = types.size === 0
      names.set(wireKey(name), { types, fallback: this.nodataAnswer, any: ent ? this.nodataAnswer : hinfo, ent })
    }
    return new CompiledZone(
      spec,
      this.nowMs,
      this.domain,
      names,
      nxdomain,
      this.nodataAnswer,
      this.users,
      targets,
      this,
      this.nextExpiryMs,
      this.skippedUsers
    )
  }

  /** Interned absolute name of a core node. */
  core(core: string): string {
    let c = this.cores.get(core)
    if (c === undefined) {
      c = this.name(core)
      this.cores.set(core, c)
    }
    return c
  }

  userAnswer(core: string, qtype: number): Answer {
    if (this.mode === 'address') {
      if (qtype === TYPE.ANY) return this.fragment((w) => w.rr(QNAME, hinfoRR(this.ttl.HINFO)), 0)
      if (qtype !== TYPE.A && qtype !== TYPE.AAAA) return this.nodataAnswer
      const rrs = this.owners.get(core)?.get(qtype)
      if (!rrs) return this.nodataAnswer
      return this.fragment((w) => {
        for (const rr of rrs) w.rr(QNAME, { ...rr, ttl: Math.min(rr.ttl, this.ttl.user) })
      }, 0)
    }
    let rcode = 0
    const enc = this.encodeFragment((w) => {
      w.rr(QNAME, nameRR(TYPE.CNAME, core, this.ttl.user))
      if (qtype !== TYPE.CNAME && qtype !== TYPE.ANY && inZone(core, this.domain)) {
        rcode = this.chase(w, core, core, qtype).rcode
      }
    })
    return fragmentAnswer(enc, rcode)
  }

  private name(n: string): string {
    return absoluteName(n, this.domain)
  }

  private add(name: string, rr: RR): void {
    let sets = this.owners.get(name)
    if (!sets) {
      sets = new Map()
      this.owners.set(name, sets)
    }
    let rrs = sets.get(rr.type)
    if (!rrs) {
      rrs = []
      sets.set(rr.type, rrs)
    }
    // RFC 2181 §5.2: one TTL per RRset; keep the lowest.
    const existing = rrs.find((r) => r.key === rr.key)
    if (existing) existing.ttl = Math.min(existing.ttl, rr.ttl)
    else rrs.push(rr)
    const min = Math.min(...rrs.map((r) => r.ttl))
    for (const r of rrs) r.ttl = min
  }

  private addAddresses(name: string, addresses: readonly string[]): void {
    for (const a of addresses) {
      const rr = addressRR(a, 0)
      rr.ttl = rr.type === TYPE.A ? this.ttl.A : this.ttl.AAAA
      this.add(name, rr)
    }
  }

  private addStatic(r: StaticRecord): void {
    const ttl = r.ttl ?? this.ttl[r.type]
    checkTtl(ttl, `ttl of ${r.type} record '${r.name}'`)
    this.add(this.name(r.name), this.staticRR(r, ttl))
  }

  private staticRR(r: StaticRecord, ttl: number): RR {
    switch (r.type) {
      case 'A':
      case 'AAAA': {
        const rr = addressRR(r.address, ttl)
        if ((rr.type === TYPE.A) !== (r.type === 'A')) {
          throw new ZoneSpecError(`${r.type} record '${r.name}' has address '${r.address}' of the other family`)
        }
        return rr
      }
      case 'CNAME':
        return nameRR(TYPE.CNAME, this.name(r.target), ttl)
      case 'NS':
        return nameRR(TYPE.NS, this.name(r.host), ttl)
      case 'MX':
        checkU16(r.preference, 'MX preference')
        return mxRR(r.preference, this.name(r.exchange), ttl)
      case 'TXT':
        return txtRR(r.text, ttl)
      case 'CAA':
        if (!/^[a-z0-9]{1,15}$/i.test(r.tag)) throw new ZoneSpecError(`invalid CAA tag '${r.tag}'`)
        return caaRR(r.flags ?? 0, r.tag, r.value, ttl)
      case 'SRV':
        for (const v of [r.priority, r.weight, r.port]) checkU16(v, 'SRV field')
        return srvRR(r.priority, r.weight, r.port, this.name(r.target), ttl)
      default:
        throw new ZoneSpecError(`unsupported record type '${(r as { type: string }).type}'`)
    }
  }

  private addWeighted(spec: NonNullable<ZoneSpec['weighted']>[number], index: Map<string, TargetState[]>): void {
    const name = this.name(spec.name)
    const ttl = spec.ttl ?? this.ttl.weighted
    checkTtl(ttl, `ttl of weighted name '${spec.name}'`)
    const subsetSize = spec.subsetSize ?? this.spec.defaultSubsetSize ?? DEFAULT_SUBSET_SIZE
    if (!Number.isInteger(subsetSize) || subsetSize < 1) throw new ZoneSpecError(`subset size of '${spec.name}' must be ≥ 1`)
    if (this.weighted.has(name)) throw new ZoneSpecError(`weighted name '${spec.name}' is defined twice`)
    if (spec.targets.length > MAX_WEIGHTED_TARGETS) {
      throw new ZoneSpecError(`weighted name '${spec.name}' has more than ${MAX_WEIGHTED_TARGETS} targets`)
    }
    const targets = spec.targets.map((t): TargetState => {
      if (!(Number.isFinite(t.weight) && t.weight >= 0)) throw new ZoneSpecError(`weight of '${t.id}' must be ≥ 0`)
      const fams: [Buffer[], Buffer[]] = [[], []]
      for (const a of t.addresses) {
        const ip = ipBytes(a)
        const rr = Buffer.alloc(12 + ip.length)
        rr.writeUInt16BE(0xc00c, 0)
        rr.writeUInt16BE(ip.length === 4 ? TYPE.A : TYPE.AAAA, 2)
        rr.writeUInt16BE(1, 4)
        rr.writeUInt32BE(ttl, 6)
        rr.writeUInt16BE(ip.length, 10)
        ip.copy(rr, 12)
        fams[ip.length === 4 ? 0 : 1].push(rr)
      }
      const state: TargetState = {
        id: t.id,
        weight: t.weight,
        healthy: t.healthy,
        specHealthy: t.healthy,
        rrs: [Buffer.concat(fams[0]), Buffer.concat(fams[1])],
        rrCount: [fams[0].length, fams[1].length],
        counterKey: `${name} ${t.id}`,
        counterOwner: null,
        counterSlot: -1
      }
      const list = index.get(t.id) ?? []
      list.push(state)
      index.set(t.id, list)
      return state
    })
    this.weighted.set(name, weightedSet(name, subsetSize, targets))
    const sets = this.owners.get(name)
    if (sets?.has(TYPE.A) || sets?.has(TYPE.AAAA)) {
      throw new ZoneSpecError(`'${name}' is weighted and also has static A/AAAA records`)
    }
  }

  private addUsers(): void {
    const users = this.spec.users
    if (!users || this.adoptedUsers) return
    const entries = users instanceof Map ? users.entries() : Object.entries(users)
    const suffix = this.domain.length > 0 ? wireKey(this.domain) : '\0'
    for (const [username, core] of entries as Iterable<[string, string]>) {
      const u = username.toLowerCase()
      if (!USERNAME.test(u)) {
        this.skippedUsers++
        continue
      }
      this.users.set(String.fromCharCode(u.length) + u + suffix, this.core(core))
    }
  }

  /** Writes the answer to (name, qtype) starting at `owner`; follows CNAMEs inside the zone. */
  private chase(
    w: Writer,
    owner: Owner,
    start: string,
    qtype: number
  ): { rcode: number; weighted?: { set: WeightedSet; owner: Owner; name: string } } {
    let name = start
    let o = owner
    for (let depth = 0; depth <= MAX_CNAME_CHAIN; depth++) {
      const sets = this.owners.get(name)
      const rrs = sets?.get(qtype)
      if (rrs) {
        for (const rr of rrs) w.rr(o, rr)
        this.glue(w, qtype, rrs)
        return { rcode: 0 }
      }
      const cname = sets?.get(TYPE.CNAME)
      if (cname) {
        w.rr(o, cname[0]!)
        name = cname[0]!.target!
        o = name
        if (!inZone(name, this.domain) || this.users.has(wireKey(name))) return { rcode: 0 }
        continue
      }
      const set = this.weighted.get(name)
      if (set && (qtype === TYPE.A || qtype === TYPE.AAAA)) {
        if (set.targets.some((t) => t.rrCount[qtype === TYPE.A ? 0 : 1] > 0)) return { rcode: 0, weighted: { set, owner: o, name } }
      }
      // RFC 2308 §2.1/§2.2 (and RFC 6604 for the end of a chain): SOA in authority.
      const rcode = this.existing.has(name) ? 0 : 3
      w.setSection(SECTION_AUTHORITY)
      w.rr(this.domain, this.soaNegative)
      return { rcode }
    }
    return { rcode: 0 }
  }

  /** RFC 1035 §3.3.9/§6.3.3, RFC 2782: addresses of in-zone NS, MX and SRV targets. */
  private glue(w: Writer, qtype: number, rrs: readonly RR[]): void {
    if (qtype !== TYPE.NS && qtype !== TYPE.MX && qtype !== TYPE.SRV) return
    const seen = new Set<string>()
    for (const rr of rrs) {
      const t = rr.target!
      if (seen.has(t) || !inZone(t, this.domain)) continue
      seen.add(t)
      const sets = this.owners.get(t)
      for (const type of [TYPE.A, TYPE.AAAA]) {
        for (const a of sets?.get(type) ?? []) {
          w.setSection(SECTION_ADDITIONAL)
          w.rr(t, a)
        }
      }
    }
  }

  private exact(name: string, qtype: number): Answer {
    const w = Writer.exact(name)
    const { rcode, weighted } = this.chase(w, QNAME, name, qtype)
    const enc = w.finish()
    if (weighted) {
      const off = weighted.owner === QNAME ? 12 : w.absoluteOffset(weighted.name)
      if (off !== undefined) {
        return {
          kind: KIND_WEIGHTED,
          prefix: enc.buf,
          an: enc.an,
          ownerOffset: off,
          set: weighted.set,
          family: (qtype === TYPE.A ? 0 : 1) as Family
        }
      }
    }
    return { kind: KIND_PACKET, packet: enc.buf, noAdditionalLen: enc.noAdditionalLen, rcode }
  }

  private negative(rcode: number): FragmentAnswer {
    return this.fragment((w) => {
      w.setSection(SECTION_AUTHORITY)
      w.rr(this.domain, this.soaNegative)
    }, rcode)
  }

  private encodeFragment(write: (w: Writer) => void): Encoded {
    const w = Writer.fragment(this.domain)
    write(w)
    return w.finish()
  }

  private fragment(write: (w: Writer) => void, rcode: number): FragmentAnswer {
    return fragmentAnswer(this.encodeFragment(write), rcode)
  }
}

function fragmentAnswer(enc: Encoded, rcode: number): FragmentAnswer {
  return {
    kind: KIND_FRAGMENT,
    body: enc.buf,
    an: enc.an,
    ns: enc.ns,
    ar: enc.ar,
    noAdditionalLen: enc.noAdditionalLen,
    bodyRelocs: enc.bodyRelocs,
    apexRelocs: enc.apexRelocs,
    rcode
  }
}

function checkTtl(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new ZoneSpecError(`${what} must be an integer in 0..2147483647, got ${v}`)
}

function checkU16(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new ZoneSpecError(`${what} must be an integer in 0..65535, got ${v}`)
}
