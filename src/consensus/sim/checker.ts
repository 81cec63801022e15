import type { Entry, NodeId } from '../types.js'

export class SafetyViolationError extends Error {
  constructor(
    readonly invariant: string,
    detail: string
  ) {
    super(`${invariant} violated: ${detail}`)
    this.name = 'SafetyViolationError'
  }
}

/** The parts of a leader's log the checker reads. `termAt` returns undefined for compacted or missing entries. */
export interface LogView {
  readonly firstIndex: number
  readonly lastIndex: number
  termAt(index: number): number | undefined
}

interface CommittedEntry {
  readonly term: number
  readonly key: string
  /** Term of the first node seen applying it: at least the term in which it was committed. */
  readonly observedTerm: number
}

/** A short, comparable identity for an entry's content. */
export function entryKey(e: Pick<Entry, 'kind' | 'data'>): string {
  let s = e.kind === 'normal' ? 'n:' : 'm:'
  for (const b of e.data) s += b.toString(16).padStart(2, '0')
  return s
}

/**
 * Raft's safety properties (Figure 3 of the paper), checked incrementally from what nodes report.
 * Every method throws SafetyViolationError on the first violation.
 */
export class SafetyChecker {
  private readonly leaderOfTerm = new Map<number, NodeId>()
  private readonly checkedLeaders = new Set<string>()
  private readonly entries = new Map<string, { readonly key: string; readonly prevTerm: number | undefined }>()
  private readonly committed = new Map<number, CommittedEntry>()
  private readonly stateAt = new Map<number, number>()
  private readonly acked = new Map<number, { readonly term: number; readonly key: string }>()

  /** Election safety: at most one leader per term. Leader completeness: a new leader holds every entry committed in earlier terms. */
  leader(node: NodeId, term: number, view: () => LogView): void {
    const known = this.leaderOfTerm.get(term)
    if (known !== undefined && known !== node) {
      throw new SafetyViolationError('election safety', `${known} and ${node} are both leader at term ${term}`)
    }
    this.leaderOfTerm.set(term, node)
    const id = `${node}@${term}`
    if (this.checkedLeaders.has(id)) return
    this.checkedLeaders.add(id)
    const log = view()
    for (const [index, c] of this.committed) {
      if (c.observedTerm >= term || index < log.firstIndex) continue
      const ours = index <= log.lastIndex ? log.termAt(index) : undefined
      if (ours !== c.term) {
        throw new SafetyViolationError(
          'leader completeness',
          `${node} became leader at term ${term} with ${ours === undefined ? 'no entry' : `term ${ours}`} at index ${index}, committed at term ${c.term}`
        )
      }
    }
  }

  /**
   * Log matching: an (index, term) pair always names the same content and follows the same term.
   * `prevTerm` is the term of the entry before `entries[0]` in the node's log, when known.
   */
  appended(node: NodeId, entries: readonly Entry[], prevTerm: number | undefined): void {
    let prev = prevTerm
    for (const e of entries) {
      const id = `${e.index}/${e.term}`
      const key = entryKey(e)
      const seen = this.entries.get(id)
      if (seen === undefined) {
        this.entries.set(id, { key, prevTerm: prev })
      } else if (seen.key !== key) {
        throw new SafetyViolationError('log matching', `${node} stored different content for entry ${id}`)
      } else if (seen.prevTerm !== undefined && prev !== undefined && seen.prevTerm !== prev) {
        throw new SafetyViolationError('log matching', `${node} has entry ${id} after term ${prev}, another node after term ${seen.prevTerm}`)
      }
      prev = e.term
    }
  }

  /**
   * State machine safety: no two nodes apply different entries at one index, and the state after an
   * index is the same everywhere. `nodeTerm` is the applying node's current term.
   */
  applied(node: NodeId, nodeTerm: number, e: Entry, stateAfter: number): void {
    const key = entryKey(e)
    const c = this.committed.get(e.index)
    if (c === undefined) this.committed.set(e.index, { term: e.term, key, observedTerm: nodeTerm })
    else if (c.term !== e.term || c.key !== key) {
      throw new SafetyViolationError('state machine safety', `${node} applied term ${e.term} at index ${e.index}, another node applied term ${c.term}`)
    }
    const ack = this.acked.get(e.index)
    if (ack !== undefined && (ack.term !== e.term || ack.key !== key)) {
      throw new SafetyViolationError('durability', `${node} applied another entry at index ${e.index} where a write was acknowledged`)
    }
    this.checkState(node, e.index, stateAfter)
  }

  /** A node restored a snapshot: its state must equal the state every node had after that index. */
  restored(node: NodeId, index: number, state: number): void {
    this.checkState(node, index, state)
  }

  /** A client was told its write at (index, term) succeeded. */
  acknowledged(index: number, term: number, e: Entry): void {
    const key = entryKey(e)
    const c = this.committed.get(index)
    if (c === undefined || c.term !== term || c.key !== key) {
      throw new SafetyViolationError('durability', `a write was acknowledged at ${index}/${term} but is not the committed entry there`)
    }
    this.acked.set(index, { term, key })
  }

  private checkState(node: NodeId, index: number, state: number): void {
    const known = this.stateAt.get(index)
    if (known === undefined) this.stateAt.set(index, state)
    else if (known !== state) {
      throw new SafetyViolationError('state machine safety', `${node} has state ${state.toString(16)} after index ${index}, another node had ${known.toString(16)}`)
    }
  }
}
