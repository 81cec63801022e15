/**
 * Deterministic safety simulation of the consensus core.
 *   npm run sim -- --schedules 10000 --seed 1 [--nodes 3|5|7] [--steps 300] [--bug forgetVote|lossyDisk|keepStreams] [--churn] [--trace]
 * Exits 1 on the first violation, after printing the seed and the command that replays it.
 */
import { replayCommand, runSchedules } from './sim/run.js'
import type { DriverBug } from './sim/simulation.js'
import { Simulation } from './sim/simulation.js'

interface CliOptions {
  schedules: number
  seed: number
  voters: number | undefined
  steps: number
  bug: DriverBug | undefined
  trace: boolean
  churn: boolean
}

function parse(argv: readonly string[]): CliOptions {
  const opts: CliOptions = { schedules: 1000, seed: 1, voters: undefined, steps: 300, bug: undefined, trace: false, churn: false }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === '--trace') {
      opts.trace = true
      continue
    }
    if (flag === '--churn') {
      opts.churn = true
      continue
    }
    const value = argv[++i]
    if (value === undefined) throw new Error(`${flag} needs a value`)
    const n = Number(value)
    const whole = (min: number): number => {
      if (!Number.isSafeInteger(n) || n < min) throw new Error(`${flag} must be a whole number of at least ${min}, got '${value}'`)
      return n
    }
    if (flag === '--schedules') opts.schedules = whole(1)
    else if (flag === '--seed') opts.seed = whole(0)
    else if (flag === '--steps') opts.steps = whole(0)
    else if (flag === '--nodes') {
      if (![3, 5, 7].includes(n)) throw new Error(`--nodes must be 3, 5 or 7, got '${value}'`)
      opts.voters = n
    } else if (flag === '--bug') {
      if (value !== 'forgetVote' && value !== 'lossyDisk' && value !== 'keepStreams') throw new Error(`--bug must be forgetVote, lossyDisk or keepStreams, got '${value}'`)
      opts.bug = value
    } else throw new Error(`unknown option ${flag} (try --schedules, --seed, --nodes, --steps, --bug, --churn, --trace)`)
  }
  return opts
}

function main(): number {
  let opts: CliOptions
  try {
    opts = parse(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`sim: ${(err as Error).message}\n`)
    return 2
  }
  const started = performance.now()
  if (opts.trace) {
    const result = new Simulation({
      seed: opts.seed,
      voters: opts.voters ?? 3,
      steps: opts.steps,
      ...(opts.bug ? { bug: opts.bug } : {}),
      churn: opts.churn,
      trace: (line) => process.stdout.write(`${line}\n`)
    }).run()
    process.stdout.write(`${JSON.stringify(result)}\n`)
    return result.violation === undefined ? 0 : 1
  }
  const summary = runSchedules({ seed: opts.seed, schedules: opts.schedules, voters: opts.voters, steps: opts.steps, bug: opts.bug, churn: opts.churn })
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  process.stdout.write(
    `schedules=${summary.schedules} ticks=${summary.ticks} elections=${summary.elections} commits=${summary.commits} ` +
      `crashes=${summary.crashes} (mid-write ${summary.crashesMidWrite}) snapshots-installed=${summary.snapshotsInstalled} snapshot-transfers=${summary.snapshotTransfers} interrupted=${summary.transfersInterrupted} membership-changes=${summary.membershipChanges} ` +
      `messages=${summary.messages} violations=${summary.failures.length} seconds=${seconds} node=${process.version}\n`
  )
  for (const f of summary.failures) {
    process.stdout.write(`VIOLATION seed ${f.seed} (${f.voters} voters): ${f.violation}\n  replay: ${replayCommand(f, opts.steps, opts.bug, opts.churn)}\n`)
  }
  return summary.failures.length === 0 ? 0 : 1
}

process.exitCode = main()
