import { Level } from 'level'
import { STATE_PREFIX, type StateStore } from './store.js'

/**
 * The state keyspace as LevelDB holds it: each value's JSON text, neither parsed nor encoded again.
 * Backups read and restores write 300,000 records this way for 100,000 users, where parsing each one
 * and encoding it again cost seconds and most of the garbage collector's work. The text is the value's
 * JSON.stringify (the store's JSON value encoding), so it is exactly what encoding the parsed value
 * would give.
 */
export type RawRecord = readonly [key: string, json: string]

/**
 * StateStore keeps its database to itself; readRawState is its only other reader, with the text
 * encoding. (Kept apart from src/state/store.ts, which another area owns: a method there that yields
 * the stored text would replace this access.)
 */
function databaseOf(store: StateStore): Level<string, unknown> {
  return (store as unknown as { db: Level<string, unknown> }).db
}

/** Every state record at one instant (the iterator reads from an implicit LevelDB snapshot), in key order. */
export async function readRawState(store: StateStore): Promise<RawRecord[]> {
  return databaseOf(store).iterator<string, string>({ gte: STATE_PREFIX, lt: `${STATE_PREFIX}\xff`, valueEncoding: 'utf8' }).all()
}

const BATCH = 20_000

/**
 * Founds a state database in `dir` (not open elsewhere) with records given as JSON text, in batches,
 * the last one synced. Not atomic as a whole: for a store being founded (a restore), whose data dir is
 * removed if anything fails. Its own handle, whose default value encoding is text: for 300,000 records,
 * chained batches of puts without options take about 2 s where an array batch, or puts that name their
 * encoding, took 8 to 15 s (classic-level 3, measured at load 18).
 */
export async function writeRawState(dir: string, records: readonly RawRecord[]): Promise<void> {
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
