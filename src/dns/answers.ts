import type { Family, WeightedSet } from './weighted.js'

export const KIND_PACKET = 0
export const KIND_FRAGMENT = 1
export const KIND_WEIGHTED = 2

/** A whole reply for one known qname: header + lower-case question + sections, absolute pointers. */
export interface PacketAnswer {
  readonly kind: typeof KIND_PACKET
  readonly packet: Buffer
  readonly noAdditionalLen: number
  readonly rcode: number
}

/** Sections valid after any question under the apex; some pointers are relocated per packet. */
export interface FragmentAnswer {
  readonly kind: typeof KIND_FRAGMENT
  readonly body: Buffer
  readonly an: number
  readonly ns: number
  readonly ar: number
  readonly noAdditionalLen: number
  readonly bodyRelocs: Uint16Array
  readonly apexRelocs: Uint16Array
  readonly rcode: number
}

/** A prebuilt prefix (header, question, CNAME chain) followed by a per-query weighted subset. */
export interface WeightedAnswer {
  readonly kind: typeof KIND_WEIGHTED
  readonly prefix: Buffer
  readonly an: number
  /** Compression pointer offset of the owner of the chosen RRs (12 = the qname). */
  readonly ownerOffset: number
  readonly set: WeightedSet
  readonly family: Family
}

export type Answer = PacketAnswer | FragmentAnswer | WeightedAnswer

export interface NameEntry {
  readonly types: ReadonlyMap<number, Answer>
  /** Any qtype not in `types`. */
  readonly fallback: Answer
  readonly any: Answer
  /** Empty non-terminal: a user of the same name takes precedence. */
  readonly ent: boolean
}
