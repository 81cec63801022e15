import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeInvite } from '../../src/membership/invite.js'
import { createJoinEndpoint } from '../../src/mesh/join-endpoint.js'
import { swarmKey } from '../../src/mesh/keys.js'
import { callRpc, Protocols } from '../../src/mesh/rpc.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

interface Member { name: string, peerId: string, addresses: string[] }
interface Status { revision: number, members: Member[], platform: { id: string } }

async function status(dataDir: string): Promise<Status> {
  const r = await runCli(['--data-dir', dataDir, 'status', '--json'])
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout)
}

async function cli(dataDir: string, args: string[]): Promise<Record<string, unknown>> {
  const r = await runCli(['--data-dir', dataDir, ...args, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout)
}

const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']
/** The stranger's connections come from this address, which no member uses (so the per-address bound applies). */
const STRANGER_HOST = '127.23.0.7'
/** How long the stranger listens at least while members write (longer until enough writes and attempts were made). */
const WINDOW_MS = 12_000
const MIN_WRITES = 5
const MIN_ATTEMPTS_PER_MEMBER = 15
/** Every protocol a member serves on the mesh. */
const MESH_PROTOCOLS = [
  '/pryv/sync/1.0.0', '/pryv/propose/1.0.0', '/pryv/raft/1.0.0', '/pryv/settings-reports/1.0.0', '/pryv/services/1.0.0',
  '/pryv/service-restart/1.0.0', '/pryv/service-logs/1.0.0', '/pryv/release-prepull/1.0.0', '/pryv/join/1.0.0', '/pryv/liveness/1.0.0',
  '/ipfs/id/1.0.0', '/ipfs/ping/1.0.0', '/meshsub/1.2.0', '/meshsub/1.1.0'
]

describe('a machine from outside, holding old invites or even the platform key', () => {
  const nodes: NodeProcess[] = []
  let founder: NodeProcess
  const invites: Record<'used' | 'expired' | 'revoked', string> = { used: '', expired: '', revoked: '' }
  let expiredAt = 0

  beforeAll(async () => {
    founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...LOOPBACK])
    nodes.push(founder)
    invites.used = (await founder.ready()).invite as string
    const second = NodeProcess.start(tempDir(), ['join-platform', invites.used, '--name', 'core2', ...LOOPBACK])
    nodes.push(second)
    await second.ready()
    const expiring = await cli(founder.dataDir, ['invite', 'create', '--ttl', '1s'])
    invites.expired = expiring.invite as string
    const revoked = await cli(founder.dataDir, ['invite', 'create'])
    invites.revoked = revoked.invite as string
    expect((await runCli(['--data-dir', founder.dataDir, 'invite', 'revoke', revoked.id as string])).code).toBe(0)
    expiredAt = Date.parse(expiring.expiresAt as string)
  }, 90_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  const platformKey = (): string => JSON.parse(readFileSync(join(founder.dataDir, 'node.json'), 'utf8')).platformKeyHex

  it('a used, an expired and a revoked invite hold no key, and their join only gets a refusal', async () => {
    await expect.poll(() => Date.now(), { timeout: 5000, interval: 100 }).toBeGreaterThan(expiredAt)
    const client = await createJoinEndpoint({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
    await client.start()
    try {
      for (const [kind, text] of Object.entries(invites)) {
        expect(text).not.toContain(platformKey())
        const payload = Buffer.from(text.split('.')[1]!, 'base64url').toString('utf8')
        expect(payload).not.toContain(platformKey())
        const invite = decodeInvite(text)
        const reply = await callRpc(client, multiaddr(invite.addresses[0]!), Protocols.join, {
          platformId: invite.platformId, inviteId: invite.inviteId, token: invite.token, name: `thief-${kind}`, addresses: []
        }, AbortSignal.timeout(15_000)) as { error?: { code: string }, platformKeyHex?: string }
        expect(reply.error?.code).toBe(`PRYV_INVITE_${kind.toUpperCase()}`)
        expect(JSON.stringify(reply)).not.toContain(platformKey())
      }
    } finally {
      await client.stop()
    }
    expect((await status(founder.dataDir)).members.map((m) => m.name).sort()).toEqual(['core1', 'core2'])
  }, 60_000)

  it('with the platform key itself, a stranger receives no gossip while members write, no protocol answers it, and its reconnections are bounded', async () => {
    const before = await status(nodes[1]!.dataDir)
    const platformId = before.platform.id
    const stranger = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      transports: [tcp({ dialOpts: { localAddress: STRANGER_HOST } as object })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: preSharedKey({ psk: swarmKey(platformKey()) }),
      services: { identify: identify(), ping: ping(), pubsub: gossipsub({ allowPublishToZeroTopicPeers: true }) }
    })
    let messages = 0
    stranger.services.pubsub.addEventListener('message', () => { messages++ })
    for (const topic of [`/pryv/${platformId}/log/1`, `/pryv/${platformId}/liveness/1`]) stranger.services.pubsub.subscribe(topic)
    const opened = new Map<string, number>()
    stranger.addEventListener('connection:open', (evt) => {
      const peer = evt.detail.remotePeer.toString()
      opened.set(peer, (opened.get(peer) ?? 0) + 1)
    })

    const members = before.members.map((m) => ({ peerId: m.peerId, address: multiaddr(`${m.addresses[0]}/p2p/${m.peerId}`) }))
    let attempts = 0
    let answered = 0
    let listening = true
    const strangerLoop = (async () => {
      while (listening) {
        for (const m of members) {
          attempts++
          const protocol = MESH_PROTOCOLS[attempts % MESH_PROTOCOLS.length]!
          await stranger.dialProtocol(m.address, protocol, { signal: AbortSignal.timeout(3000) }).then(() => { answered++ }, () => undefined)
        }
        await new Promise((r) => setTimeout(r, 150))
      }
    })()
    let writes = 0
    const started = Date.now()
    const until = started + WINDOW_MS
    while (Date.now() < until || writes < MIN_WRITES || attempts < members.length * MIN_ATTEMPTS_PER_MEMBER) {
      const r = await runCli(['--data-dir', founder.dataDir, 'dns', 'users', 'set', `user${writes}=core1`])
      expect(r.code, r.stderr).toBe(0)
      writes++
    }
    listening = false
    await strangerLoop
    // An address may bring 5 strangers a minute (then it is refused for a minute before any handshake).
    const allowedHandshakes = 5 * Math.ceil((Date.now() - started) / 60_000)
    const after = await status(nodes[1]!.dataDir)
    await stranger.stop()

    // The members did write during the window, and the other member received it all by gossip or sync.
    expect(writes).toBeGreaterThanOrEqual(MIN_WRITES)
    expect(after.revision).toBeGreaterThanOrEqual(before.revision + writes)
    expect(messages).toBe(0)
    expect(answered).toBe(0)
    // Each member let at most a handful of its handshakes complete, then refused the address before any handshake.
    expect(attempts).toBeGreaterThanOrEqual(members.length * MIN_ATTEMPTS_PER_MEMBER)
    // The key does open the handshake (so what refuses the stranger is membership), a handful of times at most.
    for (const m of members) expect(opened.get(m.peerId) ?? 0, `connections opened to ${m.peerId}`).toBeGreaterThanOrEqual(1)
    for (const m of members) expect(opened.get(m.peerId) ?? 0, `connections opened to ${m.peerId}`).toBeLessThanOrEqual(allowedHandshakes)
    expect(stranger.getConnections(peerIdFromString(members[0]!.peerId))).toHaveLength(0)
  }, 120_000)
})
