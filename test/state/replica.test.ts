import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { type CommittedEntry, entryHash, type SignedEntry, signEntry } from '../../src/state/entry.js'
import { Replica } from '../../src/state/replica.js'
import { StateStore } from '../../src/state/store.js'
import { GENESIS_HASH } from '../../src/state/types.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'
import { entry, type Writer, writer } from '../support/entries.js'

const PLATFORM = 'p1'


const genesis = (w: Writer): CommittedEntry => entry(1, GENESIS_HASH, {
  kind: 'platform.create', id: PLATFORM, domain: 'pryv.test', founder: { peerId: w.id, name: 'core1', role: 'full', addresses: [] }
}, w.id)

describe('a replica applies only the next entry, signed by a writer', () => {
  let store: StateStore
  let dir: string
  let founder: Writer
  let replica: Replica
  let first: SignedEntry

  beforeEach(async () => {
    dir = tempDir()
    store = await StateStore.open(dir)
    founder = await writer()
    replica = new Replica(await store.loadState(), store, PLATFORM)
    first = await signEntry(genesis(founder), founder.key, founder.id)
  })
  afterEach(async () => {
    await store.close()
    cleanupTempDirs()
  })

  const next = async (w: Writer, signer = w, prev = entryHash(first), revision = 2): Promise<SignedEntry> =>
    signEntry(entry(revision, prev, { kind: 'invite.create', id: `i${revision}`, tokenHash: 'h', role: 'full', expiresAt: 9e12, uses: 1 }, w.id), signer.key, signer.id)

  it('accepts the genesis entry only for its own platform, signed by the founder it names', async () => {
    const other = await writer()
    expect(await replica.offer(await signEntry(genesis(founder), other.key, other.id))).toEqual({ applied: false, reason: 'not-a-writer' })
    const foreign = await signEntry(entry(1, GENESIS_HASH, { kind: 'platform.create', id: 'other', domain: 'x.test', founder: { peerId: founder.id, name: 'a', role: 'full', addresses: [] } }, founder.id), founder.key, founder.id)
    expect(await replica.offer(foreign)).toEqual({ applied: false, reason: 'wrong-platform' })
    expect((await replica.offer(first)).applied).toBe(true)
    expect(replica.state.writers).toEqual([founder.id])
  })

  it('drops forged, replayed, out-of-chain and tampered entries, and applies nothing from them', async () => {
    await replica.offer(first)
    const stranger = await writer()
    expect(await replica.offer(await next(stranger))).toEqual({ applied: false, reason: 'not-a-writer' })
    const good = await next(founder)
    expect(await replica.offer({ ...good, sig: (await next(stranger, founder)).sig })).toEqual({ applied: false, reason: 'bad-signature' })
    expect(await replica.offer({ ...good, payload: good.payload.replace('i2', 'i9') })).toEqual({ applied: false, reason: 'bad-signature' })
    expect(await replica.offer(await next(founder, founder, 'f'.repeat(64)))).toEqual({ applied: false, reason: 'broken-chain' })
    expect(await replica.offer(await next(founder, founder, entryHash(first), 3))).toEqual({ applied: false, reason: 'gap' })
    expect(replica.revision).toBe(1)
    expect(replica.state.invites.size).toBe(0)

    expect((await replica.offer(good)).applied).toBe(true)
    expect(await replica.offer(first)).toEqual({ applied: false, reason: 'stale' })
    expect(await replica.offer(good)).toEqual({ applied: false, reason: 'stale' })
    expect([...replica.state.invites.keys()]).toEqual(['i2'])
  })

  it('survives a restart: the state on disk is the state of the log head', async () => {
    await replica.offer(first)
    await replica.offer(await next(founder))
    await store.close()
    store = await StateStore.open(dir)
    const reloaded = await store.loadState()
    expect(reloaded.revision).toBe(2)
    expect(reloaded.headHash).toBe(replica.state.headHash)
    expect([...reloaded.members.keys()]).toEqual([founder.id])
    expect([...reloaded.invites.keys()]).toEqual(['i2'])
    expect((await store.readEntries(1, 10)).map((e) => e.revision)).toEqual([1, 2])
  })

  it('applies what its writer set commits, skips what gossip already brought, and detects divergence', async () => {
    replica.setRaftCursor(1, 0)
    const applied = await replica.applyCommitted(2, genesis(founder).payload, founder.key, founder.id)
    expect(applied.revision).toBe(1)
    expect(applied.entry?.signer).toBe(founder.id)
    expect(await replica.applyCommitted(3, undefined, founder.key, founder.id)).toEqual({})

    const gossiped = await next(founder)
    const offered = await replica.offer(gossiped)
    if (!offered.applied) throw new Error(`gossiped entry refused: ${offered.reason}`)
    // The command's result still reaches the writer's client (registry import reads its counts).
    expect(await replica.applyCommitted(4, gossiped.payload, founder.key, founder.id)).toEqual({ revision: 2, result: offered.result })
    expect(replica.revision).toBe(2)

    const other = await next(founder, founder, entryHash(gossiped), 3)
    await replica.offer(other)
    await expect(replica.applyCommitted(5, gossiped.payload, founder.key, founder.id)).rejects.toMatchObject({ name: 'DivergenceError' })
  })
})
