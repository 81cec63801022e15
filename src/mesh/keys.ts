import { randomBytes } from 'node:crypto'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { ConnectionProtector, PrivateKey } from '@libp2p/interface'
import { preSharedKey } from '@libp2p/pnet'

/** A fresh platform key: 32 random bytes, the libp2p private-network pre-shared key. */
export function newPlatformKeyHex(): string {
  return randomBytes(32).toString('hex')
}

/** The swarm-key file format @libp2p/pnet expects. */
export function swarmKey(platformKeyHex: string): Uint8Array {
  return new TextEncoder().encode(`/key/swarm/psk/1.0.0/\n/base16/\n${platformKeyHex}`)
}

export async function newIdentity(): Promise<PrivateKey> {
  return generateKeyPair('Ed25519')
}

export function identityToBytes(key: PrivateKey): Uint8Array {
  return privateKeyToProtobuf(key)
}

export function identityFromBytes(bytes: Uint8Array): PrivateKey {
  return privateKeyFromProtobuf(bytes)
}

/**
 * The platform key this node protects its mesh connections with. It may be unknown at first (a
 * joining node learns it in the join reply): until then every mesh connection is refused.
 */
export class PlatformKeyring {
  private keyHex?: string
  private protector?: ConnectionProtector

  constructor(keyHex?: string) {
    if (keyHex) this.use(keyHex)
  }

  get current(): string | undefined {
    return this.keyHex
  }

  use(keyHex: string): void {
    if (!/^[0-9a-f]{64}$/.test(keyHex)) throw new Error('a platform key is 64 hex characters')
    this.keyHex = keyHex
    this.protector = preSharedKey({ psk: swarmKey(keyHex) })()
  }

  /** The libp2p connection protector: the private-network handshake with the key in use now. */
  connectionProtector(): () => ConnectionProtector {
    return () => ({
      protect: async (connection, options) => {
        if (!this.protector) throw new Error('this node does not hold the platform key yet')
        return this.protector.protect(connection, options)
      }
    })
  }
}
