import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log.js'
import { encodeJson } from '../../src/mesh/json.js'
import { newPlatformKeyHex, PlatformKeyring } from '../../src/mesh/keys.js'
import { createMesh, type MeshNode } from '../../src/mesh/libp2p.js'
import { Protocols, callRpc } from '../../src/mesh/rpc.js'
import { topics } from '../../src/node/context.js'
import { initPlatform, joinPlatform, type RunningNode } from '../../src/node/lifecycle.js'
import { entryHash, signEntry } from '../../src/state/entry.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'

const timings = { heartbeatMs: 200, deadAfterMs: 1000, strangerGraceMs: 1500, connectEveryMs: 300 }

describe('strangers and forgeries', () => {
  let platform: RunningNode
  let address: string

  beforeAll(async () => {
    platform = await initPlatform({ dataDir: tempDir(), name: 'core1', domain: 'pryv.test', listen: ['/ip4/127.0.0.1/tcp/0'], dns: [], log: createLogger('silent'), timings })
    address = platform.node.mesh.getMultiaddrs()[0]!.toString()
  })
  afterAll(async () => {
    await platform.stop()
    cleanupTempDirs()
  })

  async function outsider(keyHex: string): Promise<MeshNode> {
    const privateKey: PrivateKey = await generateKeyPair('Ed25519')
    const node = await createMesh({ privateKey, keyring: new PlatformKeyring(keyHex), listen: ['/ip4/127.0.0.1/tcp/0'] })
    await node.start()
    return node
  }

  it('a node without the platform key cannot even open a connection', async () => {
    const stranger = await outsider(newPlatformKeyHex())
    try {
      await expect(stranger.dial(multiaddr(address))).rejects.toMatchObject({ name: 'EncryptionFailedError' })
      expect(platform.node.mesh.getConnections(stranger.peerId)).toHaveLength(0)
    } finally {
      await stranger.stop()
    }
  })

  it('a node with the key but no membership is cut right after the handshake: no protocol answers it', async () => {
    const intruder = await outsider(platform.node.keyring.current!)
    try {
      // Its side of the handshake may complete (the muxer is chosen optimistically); the member closes it at once.
      await intruder.dial(multiaddr(address)).then(() => 'connected', () => 'refused')
      await expect.poll(() => intruder.getConnections(platform.node.mesh.peerId).length, { timeout: 2000, interval: 20 }).toBe(0)
      await expect(callRpc(intruder, multiaddr(address), Protocols.sync, { from: 1 }, AbortSignal.timeout(5000))).rejects.toMatchObject({ name: 'RpcFailedError' })
      await expect(callRpc(intruder, multiaddr(address), Protocols.propose, { command: { kind: 'invite.revoke', id: 'x' } }, AbortSignal.timeout(5000))).rejects.toMatchObject({ name: 'RpcFailedError' })
      expect(platform.node.mesh.getConnections(intruder.peerId)).toHaveLength(0)
      expect((platform.node.status().members as unknown[]).length).toBe(1)
    } finally {
      await intruder.stop()
    }
  })

  it('a member that is not a writer sees its forged entries dropped and its gossip score lowered', async () => {
    // The receiver is a second observer: a full node takes committed entries from its consensus log and
    // does not follow the log topic, so a forged entry can only be offered to the nodes that do.
    const observers = []
    for (const name of ['obs1', 'obs2']) {
      const { invite } = await platform.node.createInvite({ role: 'observer', ttlMs: 60_000, uses: 1 })
      observers.push(await joinPlatform({ invite, dataDir: tempDir(), name, listen: ['/ip4/127.0.0.1/tcp/0'], dns: [], log: createLogger('silent'), timings }))
    }
    const [observer, receiver] = observers as [typeof observers[0], typeof observers[0]]
    try {
      const mesh = observer.node.mesh
      const topic = topics.log(platform.node.ctx.config.platformId)
      // A forged next entry, chained correctly but signed by a member that is not a writer.
      const state = receiver.node.replica.state
      const forged = await signEntry({ revision: state.revision + 1, prevHash: state.headHash, payload: JSON.stringify({ kind: 'invite.revoke', id: 'x', at: 1, author: observer.node.selfId }) }, observer.node.ctx.identity, observer.node.selfId)
      const before = receiver.node.replica.revision
      await expect.poll(async () => {
        await mesh.services.pubsub.publish(topic, encodeJson(forged)).catch(() => undefined)
        return receiver.node.replication.dropped['not-a-writer'] ?? 0
      }, { timeout: 5000, interval: 250 }).toBeGreaterThan(0)
      expect(receiver.node.replica.revision).toBe(before)
      expect(platform.node.replica.revision).toBe(before)
      const score = (): number => (receiver.node.mesh.services.pubsub as unknown as { getScore(id: string): number }).getScore(observer.node.selfId)
      await expect.poll(score, { timeout: 5000, interval: 200 }).toBeLessThan(0)
      expect(receiver.node.replica.state.headHash).not.toBe(entryHash(forged))
    } finally {
      await Promise.all(observers.map((o) => o.stop()))
    }
  })
})
