import type { DriverBug, SimResult } from './simulation.js'
import { Simulation } from './simulation.js'

export interface RunOptions {
  /** Schedule i uses seed (seed + i) >>> 0, so any one schedule replays alone with --seed and --schedules 1. */
  readonly seed: number
  readonly schedules: number
  /** Fixed voter count, or undefined to cycle 3, 5, 7. */
  readonly voters?: number
  readonly steps: number
  readonly bug?: DriverBug
  /** Role churn schedules (see Simulation's `churn`). */
  readonly churn?: boolean
  /** Stop at the first violation (default true). */
  readonly stopOnViolation?: boolean
}

export interface RunSummary {
  readonly schedules: number
  readonly ticks: number
  readonly elections: number
  readonly commits: number
  readonly crashes: number
  /** Leader crashes between its early appends and its own disk write (Simulation `crashesMidWrite`). */
  readonly crashesMidWrite: number
  readonly snapshotsInstalled: number
  readonly snapshotTransfers: number
  readonly transfersInterrupted: number
  readonly membershipChanges: number
  readonly messages: number
  readonly failures: readonly SimResult[]
}

const VOTER_CYCLE = [3, 5, 7] as const

function scheduleSeed(seed: number, i: number): number {
  return (seed + i) >>> 0
}

function votersFor(options: Pick<RunOptions, 'voters'>, i: number): number {
  return options.voters ?? VOTER_CYCLE[i % VOTER_CYCLE.length]!
}

/** The command that replays one schedule exactly. */
export function replayCommand(result: Pick<SimResult, 'seed' | 'voters'>, steps: number, bug?: DriverBug, churn?: boolean): string {
  return `npm run sim -- --schedules 1 --seed ${result.seed} --nodes ${result.voters} --steps ${steps}${bug ? ` --bug ${bug}` : ''}${churn ? ' --churn' : ''} --trace`
}

export function runSchedules(options: RunOptions): RunSummary {
  const failures: SimResult[] = []
  const total = { ticks: 0, elections: 0, commits: 0, crashes: 0, crashesMidWrite: 0, snapshotsInstalled: 0, snapshotTransfers: 0, transfersInterrupted: 0, membershipChanges: 0, messages: 0 }
  let ran = 0
  for (let i = 0; i < options.schedules; i++) {
    const result = new Simulation({
      seed: scheduleSeed(options.seed, i),
      voters: votersFor(options, i),
      steps: options.steps,
      ...(options.bug ? { bug: options.bug } : {}),
      ...(options.churn ? { churn: true } : {})
    }).run()
    ran++
    total.ticks += result.ticks
    total.elections += result.elections
    total.commits += result.commits
    total.crashes += result.crashes
    total.crashesMidWrite += result.crashesMidWrite
    total.snapshotsInstalled += result.snapshotsInstalled
    total.snapshotTransfers += result.snapshotTransfers
    total.transfersInterrupted += result.transfersInterrupted
    total.membershipChanges += result.membershipChanges
    total.messages += result.messages
    if (result.violation !== undefined) {
      failures.push(result)
      if (options.stopOnViolation ?? true) break
    }
  }
  return { schedules: ran, ...total, failures }
}
