import { randomBytes } from 'node:crypto'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'

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
