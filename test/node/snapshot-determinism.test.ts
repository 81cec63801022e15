import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, describe, expect, it } from 'vitest'
import { entryHash, type SignedEntry, signEntry } from '../../src/state/entry.js'
import { Replica } from '../../src/state/replica.js'
import { decodeSnapshot, encodeSnapshot, encodeSnapshotText, snapshotHash } from '../../src/state/snapshot.js'
import { StateStore } from '../../src/state/store.js'
import { collections, GENESIS_HASH, type PlatformState } from '../../src/state/types.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'

const PLATFORM = 'p-determinism'

/**
 * Commands touching every kind of record a running platform writes: members and their roles and
 * addresses, invites, DNS users, ACME challenges, settings and their history, the user registry with
 * its unique index and per-core counts, and the audit trail every one of them adds to.
 */
function commands(founder: string, other: string): Array<Record<string, unknown>> {
  const user = (i: number) => ({ username: `user${i}`, core: i % 2 ? 'core1' : 'core2', fields: { email: `user${i}@example.com`, language: 'fr', referer: null }, unique: ['email'] })
  return [
    { kind: 'platform.create', id: PLATFORM, domain: 'pryv.test', founder: { peerId: founder, name: 'core1', role: 'full', addresses: ['/ip4/127.0.0.1/tcp/1'] } },
    { kind: 'invite.create', id: 'inv1', tokenHash: 'a'.repeat(64), role: 'observer', expiresAt: 1e15, uses: 2 },
    { kind: 'invite.create', id: 'inv2', tokenHash: 'b'.repeat(64), role: 'full', expiresAt: 1e15, uses: 1 },
    { kind: 'member.join', inviteId: 'inv1', member: { peerId: other, name: 'core2', role: 'observer', addresses: [] } },
    { kind: 'member.addresses', peerId: other, addresses: ['/ip4/127.0.0.2/tcp/2'] },
    { kind: 'settings.change', target: { kind: 'platform' }, set: { 'storage.compactEntries': 500 }, message: 'first' },
    { kind: 'registry.import', users: Array.from({ length: 40 }, (_, i) => user(i)) },
    { kind: 'dns.users.set', users: { alice: 'core1', bob: 'core2', carol: 'core1' } },
    { kind: 'acme.set', name: '_acme-challenge', value: 'token-1', expiresAt: 1e15 },
    { kind: 'member.role', peerId: other, role: 'full' },
    { kind: 'registry.user.update', username: 'user3', set: { email: 'changed@example.com', language: 'de' }, unique: ['email'], unset: ['referer'] },
    { kind: 'registry.user.create', username: 'newcomer', core: 'core2', fields: { email: 'n@example.com' }, unique: ['email'] },
    { kind: 'registry.user.delete', username: 'user4' },
    { kind: 'settings.change', target: { kind: 'machine', nodeId: 'core2' }, set: { 'storage.compactKeep': 50 }, message: 'second' },
    { kind: 'dns.users.remove', usernames: ['bob'] },
    { kind: 'acme.remove', name: '_acme-challenge' },
    { kind: 'invite.revoke', id: 'inv2' },
    { kind: 'read.barrier' },
    { kind: 'registry.server.rename', from: 'core2', to: 'core1' },
    { kind: 'settings.change', target: { kind: 'platform' }, unset: ['storage.compactEntries'], message: 'third' },
    { kind: 'dns.users.set', users: { bob: 'core1' } }
  ]
}

/** Every collection of a state as plain, key-ordered data: what two states must agree on. */
function plain(state: PlatformState): unknown {
  const out: Record<string, unknown> = { revision: state.revision, headHash: state.headHash, zoneRevision: state.zoneRevision, writers: state.writers, platform: state.platform }
  for (const [name, of] of Object.entries(collections)) out[name] = [...(of(state) as Map<string, unknown>)].sort(([a], [b]) => (a < b ? -1 : 1))
  return JSON.parse(JSON.stringify(out))
}

/**
 * The same log applied along three histories (as the writer that applied it live, as a node that
 * restarted half-way and reloaded its state from disk, and as a node that installed a snapshot
 * half-way) must give byte-identical snapshots: two writers at one revision serve the same bytes,
 * which is what lets a receiver resume a download from another member.
 */
describe('snapshots are deterministic', () => {
  const stores: StateStore[] = []
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined)
    cleanupTempDirs()
  })

  async function open(dir = tempDir()): Promise<{ dir: string, store: StateStore, replica: Replica }> {
    const store = await StateStore.open(dir)
    stores.push(store)
    return { dir, store, replica: new Replica(await store.loadState(), store, PLATFORM) }
  }

  it('gives the same bytes for the same revision whatever the node\'s history, and the state in memory is the state on disk', async () => {
    // The founder's id sorts after the other member's: an order taken from insertion (a live node)
    // and one taken from keys (a node that read its state from disk) then differ.
    const [key, otherKey] = (await Promise.all([generateKeyPair('Ed25519'), generateKeyPair('Ed25519')]))
      .sort((a, b) => (peerIdFromPrivateKey(a).toString() < peerIdFromPrivateKey(b).toString() ? 1 : -1))
    const founder = peerIdFromPrivateKey(key!).toString()
    const other = peerIdFromPrivateKey(otherKey!).toString()
    const entries: SignedEntry[] = []
    let prev = GENESIS_HASH
    for (const [i, command] of commands(founder, other).entries()) {
      const signed = await signEntry({ revision: i + 1, prevHash: prev, payload: JSON.stringify({ ...command, at: 1_000_000 + i, author: founder }) }, key!, founder)
      entries.push(signed)
      prev = entryHash(signed)
    }
    const half = 9

    const live = await open()
    for (const e of entries) {
      const outcome = await live.replica.offer(e)
      expect(outcome.applied, `revision ${e.revision}`).toBe(true)
      if (outcome.applied) expect(outcome.result.ok, `revision ${e.revision}: ${JSON.stringify(outcome.result)}`).toBe(true)
    }

    let restarted = await open()
    for (const e of entries.slice(0, half)) await restarted.replica.offer(e)
    await restarted.store.close()
    restarted = await open(restarted.dir)
    for (const e of entries.slice(half)) expect((await restarted.replica.offer(e)).applied).toBe(true)

    const source = await open()
    for (const e of entries.slice(0, half)) await source.replica.offer(e)
    const installed = await open()
    const { records, header } = decodeSnapshot(encodeSnapshot(PLATFORM, await source.store.exportState()).bytes)
    // With a writer set's cursor, as a full node installs it: node-local, it stays out of the snapshots below.
    expect(await installed.replica.installSnapshot(records, header.revision, { index: 40, revision: header.revision })).toBe(true)
    for (const e of entries.slice(half)) expect((await installed.replica.offer(e)).applied).toBe(true)

    const snapshots = await Promise.all([live, restarted, installed].map(async (n) => encodeSnapshot(PLATFORM, await n.store.exportState()).bytes))
    expect(snapshots.map(snapshotHash)).toEqual(Array(3).fill(snapshotHash(snapshots[0]!)))
    expect(decodeSnapshot(snapshots[0]!).header.revision).toBe(entries.length)
    // Encoding the same store twice gives the same bytes (no time, no order taken from the moment).
    expect(encodeSnapshot(PLATFORM, await live.store.exportState()).bytes.equals(snapshots[0]!)).toBe(true)
    // What a writer serves, encoded from the values' stored text without parsing them, is the same bytes.
    for (const n of [live, restarted, installed]) expect(encodeSnapshotText(PLATFORM, await n.store.exportStateText()).bytes.equals(snapshots[0]!)).toBe(true)

    // Nothing applied lives only in memory: what a restart reads is what the node was serving.
    for (const n of [live, restarted, installed]) expect(plain(await n.store.loadState())).toEqual(plain(n.replica.state))
  })
})
