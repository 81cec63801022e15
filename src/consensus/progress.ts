export type ProgressState = 'probe' | 'replicate' | 'snapshot'

/**
 * The leader's view of one follower. `probe`: one append in flight until it answers (used after a
 * rejection or a leader change). `replicate`: appends stream optimistically, at most `capacity` in
 * flight. `snapshot`: waiting for a snapshot to be installed; nothing else is sent.
 */
export class Progress {
  // Invariant: match < next.
  match = 0
  next: number
  state: ProgressState = 'probe'
  /** In probe state: an append is in flight, so send nothing more until a response or heartbeat response. */
  probeSent = false
  pendingSnapshot = 0
  /** Ticks spent in snapshot state; a snapshot lost on the way is sent again after a timeout. */
  snapshotTicks = 0
  /** Heard from this peer since the last check-quorum round. */
  recentActive = true
  isLearner: boolean
  // Last index of each append in flight, oldest first.
  private readonly inflight: number[] = []

  constructor(
    next: number,
    isLearner: boolean,
    private readonly capacity: number
  ) {
    this.next = next
    this.isLearner = isLearner
  }

  private resetState(state: ProgressState): void {
    this.state = state
    this.probeSent = false
    this.pendingSnapshot = 0
    this.snapshotTicks = 0
    this.inflight.length = 0
  }

  becomeProbe(): void {
    const pending = this.state === 'snapshot' ? this.pendingSnapshot : 0
    this.resetState('probe')
    this.next = Math.max(this.match + 1, pending + 1)
  }

  becomeReplicate(): void {
    this.resetState('replicate')
    this.next = this.match + 1
  }

  becomeSnapshot(index: number): void {
    this.resetState('snapshot')
    this.pendingSnapshot = index
  }

  /** A successful append response for `index`. Returns true if it moved `match` forward. */
  maybeUpdate(index: number): boolean {
    const updated = this.match < index
    if (updated) {
      this.match = index
      this.probeSent = false
    }
    this.next = Math.max(this.next, index + 1)
    return updated
  }

  /**
   * A rejection of the append at `rejected`; `hint` is the highest index that may still match.
   * Returns false for a stale rejection (an append we have already moved past).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false
      this.next = this.match + 1
      return true
    }
    if (this.next - 1 !== rejected) return false
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1)
    this.probeSent = false
    return true
  }

  isPaused(): boolean {
    if (this.state === 'probe') return this.probeSent
    if (this.state === 'replicate') return this.inflight.length >= this.capacity
    return true
  }

  /** Records an append just sent whose last entry is `lastIndex` (or that carried no entries). */
  sentAppend(lastIndex: number | undefined): void {
    if (this.state === 'replicate') {
      if (lastIndex === undefined) return
      this.next = lastIndex + 1
      this.inflight.push(lastIndex)
    } else if (this.state === 'probe') {
      this.probeSent = true
    }
  }

  /** Frees in-flight slots for appends up to `index`, now acknowledged. */
  freeTo(index: number): void {
    while (this.inflight.length > 0 && this.inflight[0]! <= index) this.inflight.shift()
  }

  /** A heartbeat answered while the window is full: some append was probably lost, so allow one more. */
  freeOne(): void {
    if (this.inflight.length >= this.capacity) this.inflight.shift()
  }

  inflightCount(): number {
    return this.inflight.length
  }
}
