/**
 * A linearizability checker for a key-value store of registers, after Wing & Gong as improved by
 * Lowe ("Testing for linearizability", 2017) — the algorithm behind Knossos and Porcupine:
 * depth-first search over the order in which pending operations take effect, with a cache of
 * (set of linearized operations, register value) states already explored. Linearizability is
 * compositional (Herlihy & Wing), so each key is checked on its own.
 *
 * An operation whose outcome is unknown (the client timed out) may have taken effect at any time
 * after its invocation, or never: it is given an infinite return time and a write of unknown outcome
 * need not be linearized at all.
 */
export interface Operation {
  readonly key: string
  readonly kind: 'write' | 'read'
  /** The value written, or the value the read returned (undefined: the key had no value). */
  readonly value: string | undefined
  readonly invokedAt: number
  /** Undefined when the outcome is unknown. */
  readonly returnedAt?: number
}

export interface CheckResult {
  readonly ok: boolean
  /** For a failure: the key whose history cannot be linearized. */
  readonly key?: string
}

export function checkLinearizable(history: readonly Operation[], initial?: string): CheckResult {
  const byKey = new Map<string, Operation[]>()
  for (const op of history) {
    const list = byKey.get(op.key) ?? []
    list.push(op)
    byKey.set(op.key, list)
  }
  for (const [key, ops] of byKey) {
    if (!checkRegister(ops, initial)) return { ok: false, key }
  }
  return { ok: true }
}

function checkRegister(all: readonly Operation[], initial: string | undefined): boolean {
  // Reads of unknown outcome carry no information.
  const ops = all.filter((op) => !(op.kind === 'read' && op.returnedAt === undefined))
  const n = ops.length
  const ret = ops.map((op) => op.returnedAt ?? Number.POSITIVE_INFINITY)
  const mustLinearize = ops.map((op) => op.returnedAt !== undefined)
  const required = mustLinearize.filter(Boolean).length
  const seen = new Set<string>()
  const done = new Uint8Array(n)

  const search = (value: string | undefined, linearizedRequired: number): boolean => {
    if (linearizedRequired === required) return true
    const key = `${Array.from(done).join('')}|${value ?? '\u0000'}`
    if (seen.has(key)) return false
    seen.add(key)
    // An operation can take effect next only if no pending operation returned before it was invoked.
    let earliestReturn = Number.POSITIVE_INFINITY
    for (let i = 0; i < n; i++) if (!done[i] && ret[i]! < earliestReturn) earliestReturn = ret[i]!
    for (let i = 0; i < n; i++) {
      if (done[i] || ops[i]!.invokedAt > earliestReturn) continue
      const op = ops[i]!
      if (op.kind === 'read' && op.value !== value) continue
      done[i] = 1
      const next = op.kind === 'write' ? op.value : value
      if (search(next, linearizedRequired + (mustLinearize[i] ? 1 : 0))) return true
      done[i] = 0
    }
    return false
  }
  return search(initial, 0)
}
