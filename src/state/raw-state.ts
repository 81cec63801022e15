import { Level } from 'level'
import type { StateTextRecord } from './store.js'

const BATCH = 20_000

/**
 * Founds a state database in `dir` (not open elsewhere) with records given as JSON text, in batches,
 * the last one synced. Not atomic as a whole: for a store being founded (a restore), whose data dir is
 * removed if anything fails. Its own handle, whose default value encoding is text: for 300,000 records,
 * chained batches of puts without options take about 2 s where an array batch, or puts that name their
 * encoding, took 8 to 15 s (classic-level 3, measured at load 18).
 */
export async function writeRawState(dir: string, records: readonly StateTextRecord[]): Promise<void> {
  const db = new Level<string, string>(dir, { valueEncoding: 'utf8' })
  await db.open()
  try {
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = db.batch()
      for (let j = i; j < Math.min(records.length, i + BATCH); j++) batch.put(records[j]![0], records[j]![1])
      await batch.write({ sync: i + BATCH >= records.length })
    }
  } finally {
    await db.close()
  }
}
