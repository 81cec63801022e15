import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@libp2p/noise'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { swarmKey } from '../../src/mesh/keys.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

interface Member { name: string, peerId: string, alive: boolean, addresses: string[] }
interface Status { revision: number, members: Member[], mesh: { keyId: string, accepted: string[] } }

async function status(dataDir: string): Promise<Status> {
  const r = await runCli(['--data-dir', dataDir, 'status', '--json'])
  if (r.code !== 0) throw new Error(`status failed (${r.code}): ${r.stderr}`)
  return JSON.parse(r.stdout)
}

async function invite(dataDir: string, role: string): Promise<string> {
  const r = await runCli(['--data-dir', dataDir, 'invite', 'create', '--role', role, '--json'])
  expect(r.code, r.stderr).toBe(0)
  return JSON.parse(r.stdout).invite
}

const keyOf = (dataDir: string): { platformKeyHex: string, acceptedKeysHex?: string[] } => JSON.parse(readFileSync(join(dataDir, 'node.json'), 'utf8'))
const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']

describe('platform key rotation on 3 full nodes and 2 observers', () => {
  const nodes = new Map<string, NodeProcess>()
  const dirs = new Map<string, string>()

  beforeAll(async () => {
    dirs.set('core1', tempDir())
    const founder = NodeProcess.start(dirs.get('core1')!, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...LOOPBACK])
    nodes.set('core1', founder)
    await founder.ready()
    for (const [name, role] of [['core2', 'full'], ['core3', 'full'], ['obs1', 'observer'], ['obs2', 'observer']] as const) {
      dirs.set(name, tempDir())
      const node = NodeProcess.start(dirs.get(name)!, ['join-platform', await invite(dirs.get('core1')!, role), '--name', name, ...LOOPBACK])
      nodes.set(name, node)
      await node.ready()
    }
  }, 180_000)

  afterAll(async () => {
    await Promise.all([...nodes.values()].map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('under write load loses no write and drops no node; the old key opens nothing; a node down during it is told how to come back', async () => {
    await expect.poll(async () => (await status(dirs.get('core1')!)).members.filter((m) => m.alive).length, { timeout: 30_000, interval: 500 }).toBe(5)
    const oldKey = keyOf(dirs.get('core1')!).platformKeyHex
    const before = await status(dirs.get('core1')!)
    const obs2 = before.members.find((m) => m.name === 'obs2')!
    expect(await nodes.get('obs2')!.stop()).toBe(0)

    let writing = true
    const written: string[] = []
    const load = (async () => {
      while (writing) {
        const user = `user${written.length}`
        const r = await runCli(['--data-dir', dirs.get('core2')!, 'dns', 'users', 'set', `${user}=core1`])
        expect(r.code, r.stderr).toBe(0)
        written.push(user)
      }
    })()
    const rotated = await runCli(['--data-dir', dirs.get('core1')!, 'mesh', 'rotate-key', '--window', '3s', '--json'], { timeoutMs: 90_000 })
    writing = false
    await load
    expect(rotated.code, rotated.stderr).toBe(0)
    const progress = JSON.parse(rotated.stdout) as { keyId: string, step: string, revisions: number[], lagging: string[] }
    expect(progress.step).toBe('done')
    expect(progress.revisions).toHaveLength(3)
    // The stopped observer never applied it (a member slow to report under load may be listed too).
    expect(progress.lagging).toContain('obs2')
    expect(written.length).toBeGreaterThanOrEqual(3)

    // Every running member is up, has every write, and holds only the new key.
    const running = ['core1', 'core2', 'core3', 'obs1']
    for (const name of running) {
      await expect.poll(async () => {
        const s = await status(dirs.get(name)!)
        return { up: s.members.filter((m) => m.alive).map((m) => m.name).sort(), key: s.mesh.keyId, accepted: s.mesh.accepted }
      }, { timeout: 15_000, interval: 500 }).toEqual({ up: running, key: progress.keyId, accepted: [progress.keyId] })
      const users = await runCli(['--data-dir', dirs.get(name)!, 'dns', 'users', 'get', '--json'])
      expect(Object.keys(JSON.parse(users.stdout).users).sort()).toEqual([...written].sort())
      expect(keyOf(dirs.get(name)!).platformKeyHex).not.toBe(oldKey)
      expect(keyOf(dirs.get(name)!).acceptedKeysHex).toBeUndefined()
    }

    // A machine holding the old key completes no handshake with any member.
    const stranger = await createLibp2p({
      privateKey: await generateKeyPair('Ed25519'),
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: preSharedKey({ psk: swarmKey(oldKey) })
    })
    let opened = 0
    stranger.addEventListener('connection:open', () => { opened++ })
    try {
      const after = await status(dirs.get('core1')!)
      for (const m of after.members.filter((x) => x.name !== 'obs2')) {
        await expect(stranger.dial(multiaddr(`${m.addresses[0]}/p2p/${m.peerId}`), { signal: AbortSignal.timeout(5000) })).rejects.toThrow()
      }
      expect(opened).toBe(0)
    } finally {
      await stranger.stop()
    }

    // The observer that was down the whole time still holds the old key: the members refuse it, and it says how to come back.
    expect(keyOf(dirs.get('obs2')!).platformKeyHex).toBe(oldKey)
    const back = NodeProcess.start(dirs.get('obs2')!, ['start', ...LOOPBACK])
    nodes.set('obs2', back)
    await back.ready()
    await expect.poll(() => back.stderr, { timeout: 60_000, interval: 500 }).toContain('PRYV_PLATFORM_KEY_REFUSED')
    expect(back.stderr).toContain(`pryv-node members remove obs2`)
    expect((await status(dirs.get('core1')!)).members.find((m) => m.peerId === obs2.peerId)?.alive).toBe(false)
  }, 300_000)
})
