/** Address family index into TargetState.rrs: 0 = A, 1 = AAAA. */
export type Family = 0 | 1

export interface TargetState {
  readonly id: string
  readonly weight: number
  /** Mutable: flipped by setTargetHealth() without recompiling. */
  healthy: boolean
  /** The spec's own flag for this target under this name: what clearing an override restores. */
  readonly specHealthy: boolean
  /** Pre-encoded RRs of this target per family, each starting with a 2-octet owner pointer (0xC00C). */
  readonly rrs: readonly [Buffer, Buffer]
  readonly rrCount: readonly [number, number]
  /** "<name> <id>": key of the per-target answer counter. */
  readonly counterKey: string
  /**
   * Which DnsCounters last counted this target, and its slot there: resolved once per counters
   * instance so the request path increments an array element instead of hashing counterKey.
   */
  counterOwner: object | null
  counterSlot: number
}

export interface WeightedSet {
  readonly name: string
  readonly subsetSize: number
  readonly targets: readonly TargetState[]
  readonly idx: Int32Array
  readonly w: Float64Array
}

export function weightedSet(name: string, subsetSize: number, targets: TargetState[]): WeightedSet {
  return {
    name,
    subsetSize,
    targets,
    idx: new Int32Array(targets.length),
    w: new Float64Array(targets.length)
  }
}

/**
 * Picks up to subsetSize targets without replacement, each draw proportional to weight among
 * the healthy, positive-weight targets that have addresses of the family (successive sampling:
 * P(first = i) = w_i / W). If none is healthy, every positive-weight target is returned, so an
 * outage of the health signal never empties the name. Writes target indices to `out`; returns
 * how many.
 */
export function selectTargets(set: WeightedSet, family: Family, random: () => number, out: Int32Array): number {
  const { targets, idx, w } = set
  let n = 0
  let total = 0
  for (let i = 0; i < targets.length; i++) {
    const t = targets[i]!
    if (t.weight > 0 && t.healthy && t.rrCount[family] > 0) {
      idx[n] = i
      w[n] = t.weight
      total += t.weight
      n++
    }
  }
  if (n === 0) {
    let m = 0
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!
      if (t.weight > 0 && t.rrCount[family] > 0) out[m++] = i
    }
    return m
  }
  const k = Math.min(set.subsetSize, n)
  for (let j = 0; j < k; j++) {
    let r = random() * total
    let pick = n - 1
    for (let i = 0; i < n; i++) {
      r -= w[i]!
      if (r < 0) {
        pick = i
        break
      }
    }
    out[j] = idx[pick]!
    total -= w[pick]!
    n--
    idx[pick] = idx[n]!
    w[pick] = w[n]!
  }
  return k
}

