import { expect, it } from 'vitest'
import { replayCommand, runSchedules } from '../../src/consensus/sim/run.js'

// Random schedules of loss, duplication, reordering, delay, symmetric and one-way partitions, crashes
// and restarts, client writes, learner joins, promotions, removals and leadership transfers, log
// compaction and snapshot installs that span many ticks (crashes and leader changes during them). After
// every step: election safety, log matching, leader completeness, state machine safety, durability of
// acknowledged writes (also when a leader crashes after its early appends, before its own disk
// write of them); after healing: a leader, and a committed write applied by every member.
// Each cluster size has its own test file so that the sizes run in parallel workers.
const STEPS = 150

export function simulationSuite(voters: number, schedules: number, seed: number): void {
  it(`a simulated cluster of ${voters} voters stays safe and recovers in every schedule`, () => {
    const summary = runSchedules({ seed, schedules, voters, steps: STEPS })
    const failure = summary.failures[0]
    if (failure !== undefined) throw new Error(`seed ${failure.seed}: ${failure.violation}\n  replay: ${replayCommand(failure, STEPS)}`)
    expect(summary.schedules).toBe(schedules)
    expect(summary.elections).toBeGreaterThan(summary.schedules)
    expect(summary.commits).toBeGreaterThan(10 * summary.schedules)
    expect(summary.crashes).toBeGreaterThan(0)
    // Leaders send appends while their own disk write runs (writer-set.ts): some crash in between.
    expect(summary.crashesMidWrite).toBeGreaterThan(0)
    expect(summary.snapshotsInstalled).toBeGreaterThan(0)
    // Compaction: snapshot installs that take a while, some cut short by a crash of the receiver or the leader.
    expect(summary.snapshotTransfers).toBeGreaterThan(0)
    expect(summary.transfersInterrupted).toBeGreaterThan(0)
    expect(summary.membershipChanges).toBeGreaterThan(0)
  }, 85_000)
}
