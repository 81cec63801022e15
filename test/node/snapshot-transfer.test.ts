import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log.js'
import { createMesh, type MeshNode } from '../../src/mesh/libp2p.js'
import { newPlatformKeyHex, PlatformKeyring } from '../../src/mesh/keys.js'
import { callRpc, handleRpc, Protocols } from '../../src/mesh/rpc.js'
import type { NodeContext } from '../../src/node/context.js'
import { SnapshotTransfer } from '../../src/node/snapshot-transfer.js'
import { entryHash, signEntry } from '../../src/state/entry.js'
import { Replica } from '../../src/state/replica.js'
import { encodeSnapshot, signManifest, type SnapshotManifest } from '../../src/state/snapshot.js'
import { StateStore } from '../../src/state/store.js'
import { GENESIS_HASH } from '../../src/state/types.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'

const PLATFORM = 'p-transfer'
const CHUNK = 1024

/**
 * A receiving node's real snapshot download (its mesh, store and replica) from a sender that lies:
 * the sender here is a bare handler on a real mesh, serving a writer-signed snapshot in small chunks,
 * and altering one chunk while `tamper` is set.
 */
describe('snapshot transfer over the mesh', () => {
  const platformKeyHex = newPlatformKeyHex()
  let senderMesh: MeshNode
  let receiverMesh: MeshNode
  let receiverStore: StateStore
  let receiver: Replica
  let transfer: SnapshotTransfer
  let snapshot: { manifest: SnapshotManifest, bytes: Buffer }
  let tamper = true
  let served = 0
  /** Offsets at which the sender fails once, as a broken connection would. */
  const breakAt = new Set<number>()

  beforeAll(async () => {
    // The writer's state: a platform with a few hundred users, so the snapshot spans many chunks.
    const writerKey = await generateKeyPair('Ed25519')
    const writer = peerIdFromPrivateKey(writerKey).toString()
    const writerStore = await StateStore.open(tempDir())
    const replica = new Replica(await writerStore.loadState(), writerStore, PLATFORM)
    let prev = GENESIS_HASH
    const commands: Record<string, unknown>[] = [
      { kind: 'platform.create', id: PLATFORM, domain: 'pryv.test', founder: { peerId: writer, name: 'core1', role: 'full', addresses: [] } },
      ...Array.from({ length: 300 }, (_, i) => ({ kind: 'dns.users.set', users: { [`user${i}`]: 'core1' } }))
    ]
    for (const [i, command] of commands.entries()) {
      const entry = await signEntry({ revision: i + 1, prevHash: prev, payload: JSON.stringify({ ...command, at: i, author: writer }) }, writerKey, writer)
      await replica.offer(entry, true)
      prev = entryHash(entry)
    }
    const { bytes, header } = encodeSnapshot(PLATFORM, await writerStore.exportState())
    snapshot = { manifest: await signManifest(header, bytes, writerKey, writer), bytes }
    await writerStore.close()
    expect(bytes.length).toBeGreaterThan(4 * CHUNK)

    senderMesh = await mesh(writerKey, platformKeyHex)
    await handleRpc(senderMesh, Protocols.snapshot, async (request) => {
      const r = request as { op: string, offset?: number }
      if (r.op === 'manifest') return { manifest: snapshot.manifest, chunkBytes: CHUNK }
      if (r.op === 'big') return { data: Buffer.alloc(1024 * 1024, r.offset ?? 0).toString('base64') }
      const offset = r.offset ?? 0
      served++
      if (breakAt.delete(offset)) throw new Error('connection lost')
      const chunk = Buffer.from(snapshot.bytes.subarray(offset, offset + CHUNK))
      if (tamper && offset === 2 * CHUNK) chunk[10] = chunk[10]! ^ 0x01
      return { offset, data: chunk.toString('base64') }
    }, (err) => ({ error: { message: (err as Error).message } }))

    const receiverKey = await generateKeyPair('Ed25519')
    receiverMesh = await mesh(receiverKey, platformKeyHex)
    await receiverMesh.dial(senderMesh.getMultiaddrs())
    receiverStore = await StateStore.open(tempDir())
    receiver = new Replica(await receiverStore.loadState(), receiverStore, PLATFORM)
    const ctx: NodeContext = {
      config: { platformId: PLATFORM, domain: 'pryv.test', platformKeyHex, name: 'obs1', listen: [], dns: [] },
      identity: receiverKey,
      selfId: peerIdFromPrivateKey(receiverKey).toString(),
      mesh: receiverMesh,
      replica: receiver,
      log: createLogger('silent'),
      now: () => Date.now(),
      monotonic: () => performance.now(),
      platformKey: () => platformKeyHex
    }
    transfer = new SnapshotTransfer(ctx, receiverStore)
  }, 30_000)

  afterAll(async () => {
    await senderMesh?.stop()
    await receiverMesh?.stop()
    await receiverStore?.close()
    cleanupTempDirs()
  })

  it('refuses a snapshot with a tampered chunk and installs nothing; takes the honest one in chunks', async () => {
    const sender = senderMesh.peerId.toString()
    await expect(transfer.fetch(1, [sender])).rejects.toThrow(/does not match its hash/)
    expect(transfer.stats).toMatchObject({ refused: 1, installed: 0 })
    expect(receiver.revision).toBe(0)
    expect(served).toBe(Math.ceil(snapshot.bytes.length / CHUNK))

    tamper = false
    const { records, revision } = await transfer.fetch(1, [sender])
    expect(revision).toBe(301)
    expect(await receiver.installSnapshot(records, revision, undefined)).toBe(true)
    expect(receiver.state.dnsUsers.get('user299')).toBe('core1')
    expect(transfer.stats).toMatchObject({ refused: 1, installed: 1 })
  }, 30_000)

  it('resumes a broken transfer where it stopped, without fetching again what it had', async () => {
    const chunks = Math.ceil(snapshot.bytes.length / CHUNK)
    served = 0
    breakAt.add(3 * CHUNK)
    const { revision } = await transfer.fetch(1, [senderMesh.peerId.toString()])
    expect(revision).toBe(301)
    // Every chunk once, plus the one request that broke.
    expect(served).toBe(chunks + 1)
    expect(transfer.stats.lastInstalled).toMatchObject({ from: senderMesh.peerId.toString(), resumedAt: 3 * CHUNK })
  }, 30_000)

  it('carries chunks of the real size (1 MiB, 1.4 MB on the wire) again and again through the private network\'s cipher', async () => {
    // The cipher's memory once grew with every such message, until it threw and stopped the node.
    for (let i = 0; i < 60; i++) {
      const reply = await callRpc(receiverMesh, senderMesh.peerId, Protocols.snapshot, { op: 'big', offset: i }, AbortSignal.timeout(10_000)) as { data: string }
      const data = Buffer.from(reply.data, 'base64')
      expect(data.length).toBe(1024 * 1024)
      expect(data[12345]).toBe(i)
    }
  }, 60_000)

  it('skips a sender whose snapshot is older than the revision needed', async () => {
    await expect(transfer.fetch(302, [senderMesh.peerId.toString()])).rejects.toThrow(/no snapshot at revision 302 or later/)
  }, 30_000)
})

async function mesh(privateKey: PrivateKey, platformKeyHex: string): Promise<MeshNode> {
  const node = await createMesh({ privateKey, keyring: new PlatformKeyring(platformKeyHex), listen: ['/ip4/127.0.14.1/tcp/0'], guardedTopics: [] })
  await node.start()
  return node
}
