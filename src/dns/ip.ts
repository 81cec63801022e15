import { isIPv4, isIPv6 } from 'node:net'
import { ZoneSpecError } from './errors.js'

/** 4 octets for an IPv4 address, 16 for IPv6. */
export function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number))
  if (!isIPv6(address)) throw new ZoneSpecError(`invalid IP address '${address}'`)
  let text = address
  const out = Buffer.alloc(16)
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const b = ipBytes(v4[1]!)
    text = `${text.slice(0, -v4[1]!.length)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  for (let i = 0; i < h.length; i++) out.writeUInt16BE(Number.parseInt(h[i]!, 16), i * 2)
  for (let i = 0; i < t.length; i++) out.writeUInt16BE(Number.parseInt(t[i]!, 16), 16 - (t.length - i) * 2)
  return out
}

export function isV6(address: string): boolean {
  return isIPv6(address)
}
