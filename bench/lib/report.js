// What every harness leaves behind: its tables on stdout, and under bench/results/ a JSON record
// (figures, goals met or missed, charts) that bench/run.js assembles into bench/RESULTS.md, plus its
// SVG charts. A harness run on its own writes the same files.
import { mkdirSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'

export const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? resolve(import.meta.dirname, '../results')

/** Writes bench/results/<file> (an SVG chart) and returns its name relative to bench/. */
export function writeChart(file, svg) {
  mkdirSync(RESULTS_DIR, { recursive: true })
  writeFileSync(resolve(RESULTS_DIR, file), svg)
  return `results/${file}`
}

/**
 * Prints `markdown` and records the run in bench/results/<name>.json:
 *   goals: [{ figure, measured, goal, met: true | false | null }]   (null: not measured)
 *   charts: paths relative to bench/;  cut: what a time budget left out;  notes: free text
 */
export function finish(name, { title, command, markdown, goals = [], charts = [], cut = [], notes = [], figures }) {
  process.stdout.write(`${markdown.trimEnd()}\n`)
  if (cut.length > 0) process.stdout.write(`\ncut by the time budget: ${cut.join('; ')}\n`)
  mkdirSync(RESULTS_DIR, { recursive: true })
  const record = { name, title, command, finishedAt: new Date().toISOString(), node: process.version, markdown, goals, charts, cut, notes, figures }
  writeFileSync(resolve(RESULTS_DIR, `${name}.json`), `${JSON.stringify(record, null, 2)}\n`)
}

/** A goal row: `met` is computed from `measured` with `test`, or null when nothing was measured. */
export function goal(figure, measured, goalText, test) {
  const ok = measured === undefined || measured === null || Number.isNaN(measured) ? null : Boolean(test(measured))
  return { figure, measured, goal: goalText, met: ok }
}

/** Kills what `cleanup` names when the harness is interrupted (run.js's time budget sends SIGTERM). */
export function onInterrupt(cleanup) {
  const handler = async (sig) => {
    process.stderr.write(`\n${sig}: stopping what this harness started\n`)
    try {
      await cleanup()
    } finally {
      process.exit(130)
    }
  }
  process.once('SIGTERM', handler)
  process.once('SIGINT', handler)
}
