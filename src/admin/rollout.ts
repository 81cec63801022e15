/**
 * A release's rollout, wave by wave, for the releases page: which members each wave holds, how far
 * each member got with the release, and the wave's health gate. Pure: built from the members' render
 * reports (what `config history` shows per node).
 */
import { restartWaves } from '../release/waves.js'

/** What the view needs of one render report of a member. */
export interface ReportView {
  readonly settingsRevision: number
  readonly release?: { readonly version: string }
  readonly failures: readonly { readonly service?: string, readonly message: string }[]
}

export interface MemberReports {
  readonly node: string
  readonly reports?: readonly ReportView[]
  readonly error?: string
}

/**
 * On one member: `healthy` (rendered it, every service passed its health check), `failed` (its
 * health gate failed), `waiting` (not yet: an earlier wave is not healthy yet), `skipped` (a later
 * release or rollback came first), `unreachable` (did not answer).
 */
export type MemberState = 'healthy' | 'failed' | 'waiting' | 'skipped' | 'unreachable'

export interface MemberRollout {
  readonly node: string
  readonly state: MemberState
  readonly detail?: string
}

export type WaveState = 'passed' | 'failed' | 'rolling out' | 'waiting' | 'stopped' | 'not reached' | 'unknown'

export interface Wave {
  /** `canary`, then `wave 1`, `wave 2`… */
  readonly label: string
  readonly members: readonly MemberRollout[]
  readonly state: WaveState
  /** The health gate's result in words. */
  readonly gate: string
}

/**
 * The rollout of the release entry at `revision`, until the entry after it (`until`, absent for
 * the release in force): per member, its last report in that span decides.
 */
export function rolloutWaves(revision: number, until: number | undefined, members: readonly MemberReports[], budget: number): Wave[] {
  const byNode = new Map(members.map((m) => [m.node, memberRollout(m, revision, until)]))
  const waves: Wave[] = []
  for (const [i, names] of restartWaves([...byNode.keys()], budget, (name) => name).entries()) {
    const rows = names.map((n) => byNode.get(n)!)
    const state = waveState(rows, waves.at(-1)?.state)
    waves.push({ label: i === 0 ? 'canary' : `wave ${i}`, members: rows, state, gate: gateText(state, rows) })
  }
  return waves
}

function memberRollout(m: MemberReports, revision: number, until: number | undefined): MemberRollout {
  if (!m.reports) return { node: m.node, state: 'unreachable', ...(m.error ? { detail: m.error } : {}) }
  const last = m.reports.filter((r) => r.settingsRevision >= revision && (until === undefined || r.settingsRevision < until)).at(-1)
  if (last) {
    if (last.failures.length === 0) return { node: m.node, state: 'healthy' }
    return { node: m.node, state: 'failed', detail: last.failures.map((f) => `${f.service ?? '*'}: ${f.message}`).join('; ') }
  }
  if (until !== undefined && m.reports.some((r) => r.settingsRevision >= until)) return { node: m.node, state: 'skipped' }
  return { node: m.node, state: 'waiting' }
}

function waveState(rows: readonly MemberRollout[], before: WaveState | undefined): WaveState {
  const count = (s: MemberState) => rows.filter((r) => r.state === s).length
  if (count('failed') > 0) return 'failed'
  if (count('unreachable') > 0) return 'unknown'
  if (count('healthy') === rows.length) return 'passed'
  if (count('skipped') === rows.length) return 'not reached'
  if (count('waiting') === 0) return 'stopped'
  return count('healthy') > 0 || before === undefined || before === 'passed' ? 'rolling out' : 'waiting'
}

function gateText(state: WaveState, rows: readonly MemberRollout[]): string {
  switch (state) {
    case 'passed':
      return 'passed: every service healthy'
    case 'failed':
      return `failed on ${rows.filter((r) => r.state === 'failed').map((r) => `${r.node} (${r.detail})`).join(', ')}`
    case 'rolling out':
      return 'pending: restarting, then checking health'
    case 'waiting':
      return 'pending: waits for the wave before it'
    case 'stopped':
      return 'stopped: a later change replaced this release'
    case 'not reached':
      return 'not run: the release was replaced before this wave'
    case 'unknown':
      return `unknown: ${rows.filter((r) => r.state === 'unreachable').map((r) => r.node).join(', ')} did not answer`
  }
}
