import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { afterEach, describe, expect, it } from 'vitest'
import { newPlatformKeyHex, PlatformKeyring } from '../../src/mesh/keys.js'
import { createMesh, type MeshNode } from '../../src/mesh/libp2p.js'

describe('the platform keyring (private network with key rotation)', () => {
  const started: MeshNode[] = []
  afterEach(async () => {
    await Promise.all(started.splice(0).map((n) => n.stop()))
  })

  async function node(keyring: PlatformKeyring): Promise<MeshNode> {
    const mesh = await createMesh({ privateKey: await generateKeyPair('Ed25519'), keyring, listen: ['/ip4/127.0.0.1/tcp/0'] })
    await mesh.start()
    started.push(mesh)
    return mesh
  }

  async function connects(from: MeshNode, to: MeshNode): Promise<boolean> {
    try {
      await from.dial(multiaddr(to.getMultiaddrs()[0]!.toString()), { signal: AbortSignal.timeout(5000) })
      await from.services.ping.ping(to.peerId, { signal: AbortSignal.timeout(5000) })
      return true
    } catch {
      return false
    } finally {
      await from.hangUp(to.peerId).catch(() => undefined)
    }
  }

  it('accepts both keys during a rotation, dials with the current one, then refuses the retired key', async () => {
    const [oldKey, newKey, otherKey] = [newPlatformKeyHex(), newPlatformKeyHex(), newPlatformKeyHex()]
    const rotating = new PlatformKeyring(oldKey)
    const member = await node(rotating)
    const onOld = await node(new PlatformKeyring(oldKey))
    const onNew = await node(new PlatformKeyring(newKey))
    const onOther = await node(new PlatformKeyring(otherKey))

    expect(await connects(onOld, member)).toBe(true)
    expect(await connects(onNew, member)).toBe(false)

    rotating.accept(newKey)
    expect(await connects(onOld, member)).toBe(true)
    expect(await connects(onNew, member)).toBe(true)
    expect(await connects(onOther, member)).toBe(false)
    expect(await connects(member, onOld)).toBe(true)

    rotating.switchTo(newKey)
    expect(await connects(member, onNew)).toBe(true)
    expect(await connects(member, onOld)).toBe(false)
    expect(await connects(onOld, member)).toBe(true)

    rotating.retireOthers()
    expect(await connects(onOld, member)).toBe(false)
    expect(await connects(onNew, member)).toBe(true)
  })

  it('refuses every connection while it holds no key (a joining node before its join reply)', async () => {
    const keyless = await node(new PlatformKeyring())
    const other = await node(new PlatformKeyring(newPlatformKeyHex()))
    expect(await connects(other, keyless)).toBe(false)
    expect(await connects(keyless, other)).toBe(false)
  })
})
