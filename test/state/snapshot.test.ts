import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { compactionDue } from '../../src/state/compaction.js'
import { entryHash, type SignedEntry, signEntry } from '../../src/state/entry.js'
import { Replica } from '../../src/state/replica.js'
import { decodeSnapshot, encodeSnapshot, openVerifiedSnapshot, signManifest, SNAPSHOT_VERSION } from '../../src/state/snapshot.js'
import { StateStore } from '../../src/state/store.js'
import { GENESIS_HASH } from '../../src/state/types.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'
import { entry, type Writer, writer } from '../support/entries.js'

const PLATFORM = 'p1'


/** A replica on its own store that applied the genesis entry and `users` user registrations. */
async function platformWith(founder: Writer, users: number): Promise<{ store: StateStore, replica: Replica, entries: SignedEntry[] }> {
  const store = await StateStore.open(tempDir())
  const replica = new Replica(await store.loadState(), store, PLATFORM)
  const entries: SignedEntry[] = []
  let prev = GENESIS_HASH
  const commands: Record<string, unknown>[] = [
    { kind: 'platform.create', id: PLATFORM, domain: 'pryv.test', founder: { peerId: founder.id, name: 'core1', role: 'full', addresses: [] } },
    ...Array.from({ length: users }, (_, i) => ({ kind: 'dns.users.set', users: { [`user${i}`]: 'core1' } }))
  ]
  for (const [i, command] of commands.entries()) {
    const signed = await signEntry(entry(i + 1, prev, command, founder.id), founder.key, founder.id)
    expect((await replica.offer(signed)).applied).toBe(true)
    entries.push(signed)
    prev = entryHash(signed)
  }
  return { store, replica, entries }
}

describe('state snapshots', () => {
  let founder: Writer
  const stores: StateStore[] = []
  beforeEach(async () => { founder = await writer() })
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close()
    cleanupTempDirs()
  })

  it('carry every record of the state keyspace, and a fresh node that installs one continues the chain', async () => {
    const source = await platformWith(founder, 20)
    stores.push(source.store)
    const { bytes, header } = encodeSnapshot(PLATFORM, await source.store.exportState())
    expect(header).toMatchObject({ revision: 21, headHash: source.replica.state.headHash })
    // The same state gives the same bytes: snapshots from two nodes at one revision are interchangeable.
    expect(encodeSnapshot(PLATFORM, await source.store.exportState()).bytes.equals(bytes)).toBe(true)
    const manifest = await signManifest(header, bytes, founder.key, founder.id)

    const fresh = await StateStore.open(tempDir())
    stores.push(fresh)
    const replica = new Replica(await fresh.loadState(), fresh, PLATFORM)
    const { records, header: opened } = await openVerifiedSnapshot(manifest, bytes, PLATFORM, [])
    expect(await replica.installSnapshot(records, opened.revision, undefined)).toBe(true)
    expect(replica.revision).toBe(21)
    expect(Object.fromEntries(replica.state.dnsUsers)).toEqual(Object.fromEntries(source.replica.state.dnsUsers))
    expect(replica.state.writers).toEqual([founder.id])

    const next = await signEntry(entry(22, source.replica.state.headHash, { kind: 'dns.users.set', users: { late: 'core1' } }, founder.id), founder.key, founder.id)
    expect((await replica.offer(next)).applied).toBe(true)
    // What was installed is on disk: a restart loads it without any entry before the snapshot.
    expect((await fresh.loadState()).dnsUsers.get('user7')).toBe('core1')
    expect(await fresh.readEntries(1, 100)).toEqual([next])
    expect(await fresh.logBase()).toMatchObject({ firstRevision: 22 })
  })

  it('are refused when a chunk was tampered with, when forged by a non-writer, truncated, or of a newer format', async () => {
    const source = await platformWith(founder, 3)
    stores.push(source.store)
    const { bytes, header } = encodeSnapshot(PLATFORM, await source.store.exportState())
    const manifest = await signManifest(header, bytes, founder.key, founder.id)

    const tampered = Buffer.from(bytes)
    tampered[tampered.indexOf('user1')] = 'X'.charCodeAt(0)
    await expect(openVerifiedSnapshot(manifest, tampered, PLATFORM, [founder.id])).rejects.toThrow(/does not match its hash/)

    // A member that is not a writer re-signs altered content: the hash matches, the signer is not trusted.
    const stranger = await writer()
    const forgedBytes = Buffer.from(bytes.toString().replace('"user1":"core1"', '"user1":"evil"'))
    const forged = await signManifest(header, forgedBytes, stranger.key, stranger.id)
    await expect(openVerifiedSnapshot(forged, forgedBytes, PLATFORM, [founder.id])).rejects.toThrow(/not signed by a writer/)
    // Nor can a snapshot be passed off as another platform's.
    await expect(openVerifiedSnapshot(manifest, bytes, 'p2', [founder.id])).rejects.toThrow(/another platform/)

    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 10))).toThrow(/truncated|records/)
    const newer = Buffer.from(bytes.toString().replace(`"version":${SNAPSHOT_VERSION}`, `"version":${SNAPSHOT_VERSION + 1}`))
    expect(() => decodeSnapshot(newer)).toThrow(/newer than this pryv-node reads/)
  })

  it('are installed only when newer than the state held, and leave the node\'s consensus cursor in place', async () => {
    const source = await platformWith(founder, 5)
    stores.push(source.store)
    const { bytes, header } = encodeSnapshot(PLATFORM, await source.store.exportState())
    const { records } = decodeSnapshot(bytes)
    expect(records.find(([key]) => key === 'state/head')?.[1]).not.toHaveProperty('raft')
    source.replica.setRaftCursor(7, 6)
    expect(await source.replica.installSnapshot(records, header.revision, undefined)).toBe(false)
    expect(source.replica.state.raft).toEqual({ index: 7, revision: 6 })
  })
})

describe('log compaction', () => {
  afterEach(() => cleanupTempDirs())

  it('drops the platform log below the trailing window and keeps the state', async () => {
    const founder = await writer()
    const { store, replica } = await platformWith(founder, 30)
    await store.compactLog(22, 1234)
    expect((await store.readEntries(1, 100)).map((e) => e.revision)).toEqual([22, 23, 24, 25, 26, 27, 28, 29, 30, 31])
    expect(await store.logBase()).toEqual({ firstRevision: 22, compactedAt: 1234 })
    const reloaded = await store.loadState()
    expect(reloaded.revision).toBe(31)
    expect(reloaded.dnsUsers.size).toBe(30)
    expect(reloaded.headHash).toBe(replica.state.headHash)
    await store.close()
  })

  it('is due after the threshold of entries, or after the interval when any entry came', () => {
    const policy = { threshold: 100, trailing: 10, intervalMs: 60_000 }
    expect(compactionDue(policy, { head: 109, compactedThrough: 10, compactedAt: 0 }, 1000)).toBe(false)
    expect(compactionDue(policy, { head: 110, compactedThrough: 10, compactedAt: 0 }, 1000)).toBe(true)
    expect(compactionDue(policy, { head: 11, compactedThrough: 10, compactedAt: 0 }, 60_000)).toBe(true)
    expect(compactionDue(policy, { head: 10, compactedThrough: 10, compactedAt: 0 }, 600_000)).toBe(false)
  })
})
