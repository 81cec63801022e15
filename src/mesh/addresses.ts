import { multiaddr } from '@multiformats/multiaddr'

/**
 * The address exchange: when two members connect (and again while a member cannot be reached), each
 * tells the other where it listens now and where it last heard the other members listen. A member
 * that restarted on new addresses is so found again through any member whose address still works.
 */
export const ADDRESSES_PROTOCOL = '/pryv/addresses/1.0.0'

/** Version of the frame below: a receiver drops a version it does not know. */
export const ADDRESSES_FORMAT = 1

/** Addresses kept for one member: a machine's interfaces, with room. */
export const MAX_MEMBER_ADDRESSES = 8
/** Members one frame may name: a platform's members, with room. */
const MAX_FRAME_MEMBERS = 10_000

/** Where one member listens, as the sender knows it. */
export interface MemberAddresses {
  readonly peerId: string
  readonly addresses: readonly string[]
  /** How long ago the member itself said so (to the sender or to whom the sender learnt it from). */
  readonly agoMs: number
}

/**
 * One frame each way, unsigned: the noise channel authenticates the sender, and the receiver takes it
 * only from a member, for members only.
 */
export interface AddressFrame {
  readonly v: typeof ADDRESSES_FORMAT
  /** Where the sender listens now. */
  readonly self: readonly string[]
  readonly members: readonly MemberAddresses[]
}

export function parseAddressFrame(raw: unknown): AddressFrame | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (r.v !== ADDRESSES_FORMAT || !isDialableList(r.self)) return undefined
  if (!Array.isArray(r.members) || r.members.length > MAX_FRAME_MEMBERS) return undefined
  const members: MemberAddresses[] = []
  for (const m of r.members as unknown[]) {
    if (typeof m !== 'object' || m === null) return undefined
    const e = m as Record<string, unknown>
    if (typeof e.peerId !== 'string' || e.peerId.length > 128 || !isDialableList(e.addresses)) return undefined
    if (!Number.isSafeInteger(e.agoMs) || (e.agoMs as number) < 0) return undefined
    members.push({ peerId: e.peerId, addresses: e.addresses as string[], agoMs: e.agoMs as number })
  }
  return { v: ADDRESSES_FORMAT, self: r.self as string[], members }
}

/** At most MAX_MEMBER_ADDRESSES addresses, each one a member can be dialled at (see isDialable). */
function isDialableList(value: unknown): boolean {
  return Array.isArray(value) && value.length <= MAX_MEMBER_ADDRESSES && value.every(isDialable)
}

/**
 * An IP or DNS name and a TCP port, nothing else (no relay, no peer id: the receiver adds the peer id
 * of the member it files the address under, so an address cannot send it to another peer).
 */
export function isDialable(value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 255) return false
  try {
    const parts = multiaddr(value).getComponents()
    return parts.length === 2 && ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(parts[0]!.name) && parts[1]!.name === 'tcp'
  } catch {
    return false
  }
}
