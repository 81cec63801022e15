import { isV6 } from './ip.js'
import { inZone } from './names.js'
import type { StaticRecord } from './zone-spec.js'

/**
 * One key of Pryv.io's DNS_CUSTOM_ENTRIES / `dns:staticDataInDomain` (service-register
 * ndns-wrapper.js getRecords). Hostnames are absolute without the trailing dot; "{name}" in a
 * value stands for the entry's own name.
 */
export interface PryvCustomEntry {
  ip?: string | string[]
  alias?: PryvHost | PryvHost[]
  description?: string | string[]
  mail?: { name: string; ip?: string; priority: number; ttl?: number }[]
  nameserver?: PryvHost[]
  /** SOA override of service-register; ignored (the zone has one SOA). */
  autority?: string
  certificate_authority_authorization?: { issuer: string; flag?: number; tag?: string }
}

export interface PryvHost {
  name: string
  ip?: string
}

export type PryvCustomEntries = Readonly<Record<string, PryvCustomEntry>>

/**
 * Static records for those entries. Addresses given next to a CNAME, MX or NS target become
 * A/AAAA records of that target when it is inside `domain` (elsewhere they are not ours to serve).
 */
export function pryvCustomEntriesToRecords(entries: PryvCustomEntries, domain: string): StaticRecord[] {
  const out: StaticRecord[] = []
  const d = domain.toLowerCase().replace(/\.$/, '')
  for (const [label, e] of Object.entries(entries)) {
    const name = label === '' || label === '@' ? '@' : label
    const self = name === '@' ? d : `${label}.${d}`
    const host = (h: string): string => `${h.replaceAll('{name}', self).toLowerCase().replace(/\.$/, '')}.`
    const glue = (target: string, ip: string | undefined): void => {
      if (ip !== undefined && inZone(target.slice(0, -1), d)) out.push(address(target, ip))
    }
    for (const ip of list(e.ip)) out.push(address(name, ip))
    for (const a of list(e.alias)) {
      out.push({ name, type: 'CNAME', target: host(a.name) })
      glue(host(a.name), a.ip)
    }
    // Each description is its own TXT record (service-register test "multiple root TXT").
    for (const text of list(e.description)) out.push({ name, type: 'TXT', text })
    for (const m of e.mail ?? []) {
      out.push({ name, type: 'MX', preference: m.priority, exchange: host(m.name), ttl: m.ttl })
      glue(host(m.name), m.ip)
    }
    for (const ns of e.nameserver ?? []) {
      out.push({ name, type: 'NS', host: host(ns.name) })
      glue(host(ns.name), ns.ip)
    }
    const caa = e.certificate_authority_authorization
    if (caa) out.push({ name, type: 'CAA', flags: caa.flag ?? 0, tag: caa.tag ?? 'issue', value: caa.issuer })
  }
  return out
}

function list<T>(v: T | T[] | undefined): T[] {
  return v === undefined ? [] : Array.isArray(v) ? v : [v]
}

function address(name: string, ip: string): StaticRecord {
  return { name, type: isV6(ip) ? 'AAAA' : 'A', address: ip }
}
