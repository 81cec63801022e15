import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { entryHash, signEntry } from '../../src/state/entry.js'
import { Replica } from '../../src/state/replica.js'
import { StateStore } from '../../src/state/store.js'
import { GENESIS_HASH } from '../../src/state/types.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'
import { entry, writer } from '../support/entries.js'

const PLATFORM = 'p1'
/** Enough entries (about 5 MiB) for LevelDB to write tables, not only its write-ahead log. */
const WRITES = 12_000
const KEPT = 100

async function dirBytes(dir: string): Promise<number> {
  let total = 0
  for (const name of await fs.readdir(dir)) total += (await fs.stat(join(dir, name))).size
  return total
}

describe('compacting the platform log gives its disk space back', () => {
  afterAll(() => cleanupTempDirs())

  it('after compactLog the data dir holds the state and the kept entries, not the dropped ones; a reopen finds both', async () => {
    const dir = tempDir()
    let store = await StateStore.open(dir)
    const w = await writer()
    const replica = new Replica(await store.loadState(), store, PLATFORM)
    let prev = GENESIS_HASH
    const apply = async (revision: number, command: Record<string, unknown>): Promise<void> => {
      const signed = await signEntry(entry(revision, prev, command, w.id), w.key, w.id)
      expect((await replica.offer(signed, true)).applied).toBe(true)
      prev = entryHash(signed)
    }
    await apply(1, { kind: 'platform.create', id: PLATFORM, domain: 'pryv.test', founder: { peerId: w.id, name: 'core1', role: 'full', addresses: [] } })
    // A small live state (one user at a time) under a long log.
    for (let revision = 2; revision <= WRITES + 1; revision++) {
      await apply(revision, revision % 2 === 0
        ? { kind: 'dns.users.set', users: { [`user${revision}`]: 'core1' } }
        : { kind: 'dns.users.remove', usernames: [`user${revision - 1}`] })
    }
    const before = await dirBytes(dir)
    const head = WRITES + 1
    await store.compactLog(head - KEPT + 1, Date.now())
    const after = await dirBytes(dir)
    console.log(`data dir: ${before} bytes with ${head} entries, ${after} bytes once compacted to the last ${KEPT}`)
    expect(after).toBeLessThan(before / 4)

    await store.close()
    store = await StateStore.open(dir)
    const state = await store.loadState()
    expect(state.revision).toBe(head)
    expect(state.dnsUsers.size).toBe(0)
    expect((await store.readEntries(1, 2 * KEPT)).map((e) => e.revision)).toEqual(Array.from({ length: KEPT }, (_, i) => head - KEPT + 1 + i))
    await store.close()
  }, 60_000)
})
