import { ZoneSpecError } from './errors.js'

const LABEL = /^[\x21-\x2d\x2f-\x7e]{1,63}$/

/** Lower-case dotted absolute name without the trailing dot ("" is the root). */
export function absoluteName(name: string, domain: string): string {
  const n = name.trim()
  if (n === '@' || n === '') return domain
  if (n.endsWith('.')) return checkName(n.slice(0, -1).toLowerCase())
  return checkName(`${n.toLowerCase()}.${domain}`)
}

export function checkName(name: string): string {
  if (name === '') return name
  const labels = name.split('.')
  for (const l of labels) {
    if (!LABEL.test(l)) throw new ZoneSpecError(`invalid name '${name}': bad label '${l}'`)
  }
  if (name.length + 2 > 255) throw new ZoneSpecError(`invalid name '${name}': longer than 255 octets`)
  return name
}

/** True when `name` is `domain` or below it at a label boundary. */
export function inZone(name: string, domain: string): boolean {
  return name === domain || name.endsWith(`.${domain}`)
}

/**
 * The lookup key of a name: its lower-case wire form (with the root octet) as a latin1
 * string, the same string the request path slices out of a query.
 */
export function wireKey(name: string): string {
  if (name === '') return '\0'
  let key = ''
  for (const l of name.split('.')) key += String.fromCharCode(l.length) + l
  return `${key}\0`
}

export function labelCount(name: string): number {
  return name === '' ? 0 : name.split('.').length
}
