/**
 * Where each member last said it listens, and when (this node's monotonic clock): heard from the member
 * itself (its heartbeats, the address exchange) or passed on by another member with the age of what it
 * knew. The freshest claim wins, so a member that moved is followed and an old claim relayed late does
 * not undo it. Pure: the node files what it hears here and dials what it finds.
 */
export class AddressBook {
  private readonly claims = new Map<string, { addresses: readonly string[], at: number }>()

  /**
   * Files `addresses` as said by the member at `at`; true when that changes where the member is
   * believed to listen (an older claim, or the same addresses, changes nothing).
   */
  note(peerId: string, addresses: readonly string[], at: number): boolean {
    if (addresses.length === 0) return false
    const known = this.claims.get(peerId)
    if (known && known.at >= at) return false
    this.claims.set(peerId, { addresses: [...addresses], at })
    return !known || !sameSet(known.addresses, addresses)
  }

  /** The member's freshest claim, with its age; undefined if none was heard. */
  get(peerId: string, now: number): { addresses: readonly string[], agoMs: number } | undefined {
    const known = this.claims.get(peerId)
    return known ? { addresses: known.addresses, agoMs: Math.max(0, Math.round(now - known.at)) } : undefined
  }

  forget(peerId: string): void {
    this.claims.delete(peerId)
  }
}

export function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}
