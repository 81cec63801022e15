import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/log.js'
import { encodeJson } from '../../src/mesh/json.js'
import { newPlatformKeyHex } from '../../src/mesh/keys.js'
import { createMesh, type MeshNode } from '../../src/mesh/libp2p.js'
import { Protocols, callRpc } from '../../src/mesh/rpc.js'
import { topics } from '../../src/node/context.js'
import { initPlatform, type RunningNode } from '../../src/node/lifecycle.js'
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

  const keys = new Map<MeshNode, PrivateKey>()
  async function outsider(keyHex: string): Promise<MeshNode> {
    const privateKey = await generateKeyPair('Ed25519')
    const node = await createMesh({ privateKey, platformKeyHex: keyHex, listen: ['/ip4/127.0.0.1/tcp/0'] })
    keys.set(node, privateKey)
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

  it('a node with the key but no membership gets no log, cannot write, sees its forged entries dropped, and is disconnected', async () => {
    const intruder = await outsider(platform.node.ctx.config.platformKeyHex)
    try {
      await intruder.dial(multiaddr(address))
      const sync = await callRpc(intruder, multiaddr(address), Protocols.sync, { from: 1 }, AbortSignal.timeout(5000)) as { error?: { code: string }, entries?: unknown }
      expect(sync.error?.code).toBe('PRYV_NOT_A_MEMBER')
      expect(sync.entries).toBeUndefined()
      const propose = await callRpc(intruder, multiaddr(address), Protocols.propose, { command: { kind: 'invite.revoke', id: 'x' } }, AbortSignal.timeout(5000)) as { error?: { code: string } }
      expect(propose.error?.code).toBe('PRYV_NOT_A_MEMBER')

      // A forged next entry, chained correctly but signed by the intruder.
      const state = platform.node.replica.state
      const topic = topics.log(platform.node.ctx.config.platformId)
      intruder.services.pubsub.subscribe(topic)
      const forged = await signEntry({ revision: state.revision + 1, prevHash: state.headHash, payload: JSON.stringify({ kind: 'invite.revoke', id: 'x', at: 1, author: intruder.peerId.toString() }) }, keys.get(intruder)!, intruder.peerId.toString())
      const before = platform.node.replica.revision
      await expect.poll(async () => {
        await intruder.services.pubsub.publish(topic, encodeJson(forged)).catch(() => undefined)
        return platform.node.replication.dropped['not-a-writer'] ?? 0
      }, { timeout: 5000, interval: 250 }).toBeGreaterThan(0)
      expect(platform.node.replica.revision).toBe(before)
      // The sender's gossip score drops, so it soon gets no gossip and then is ignored altogether.
      const score = (): number => (platform.node.mesh.services.pubsub as unknown as { getScore(id: string): number }).getScore(intruder.peerId.toString())
      await expect.poll(score, { timeout: 5000, interval: 200 }).toBeLessThan(0)
      expect(platform.node.replica.state.headHash).not.toBe(entryHash(forged))

      await expect.poll(() => platform.node.mesh.getConnections(intruder.peerId).length, { timeout: 10_000, interval: 250 }).toBe(0)
      expect((platform.node.status().members as unknown[]).length).toBe(1)
    } finally {
      await intruder.stop()
    }
  })
})
