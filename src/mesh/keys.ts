import { createHash, randomBytes } from 'node:crypto'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { ConnectionProtector, PrivateKey } from '@libp2p/interface'
import { multiKeyProtector } from './pnet.js'

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
 * The platform keys this node protects its mesh connections with: it dials with the current one and
 * accepts every accepted one (two during a key rotation). A joining node starts with none and learns
 * the key in the join reply: until then every mesh connection is refused.
 */
export class PlatformKeyring {
  private currentHex?: string
  private acceptedHex: string[] = []

  constructor(keyHex?: string, alsoAccepted: readonly string[] = []) {
    if (keyHex) this.use(keyHex)
    for (const k of alsoAccepted) this.accept(k)
  }

  get current(): string | undefined {
    return this.currentHex
  }

  /** Every key accepted on inbound connections, the current one first. */
  get accepted(): readonly string[] {
    return this.acceptedHex
  }

  /** Dials and accepts with this key only. */
  use(keyHex: string): void {
    checkKey(keyHex)
    this.currentHex = keyHex
    this.acceptedHex = [keyHex]
  }

  /** Accepts this key too, still dialling with the current one. */
  accept(keyHex: string): void {
    checkKey(keyHex)
    if (!this.acceptedHex.includes(keyHex)) this.acceptedHex.push(keyHex)
  }

  /** Dials with this key from now on, still accepting the others. */
  switchTo(keyHex: string): void {
    this.accept(keyHex)
    this.currentHex = keyHex
    this.acceptedHex = [keyHex, ...this.acceptedHex.filter((k) => k !== keyHex)]
  }

  /** Accepts the current key only. */
  retireOthers(): void {
    this.acceptedHex = this.currentHex ? [this.currentHex] : []
  }

  /** The libp2p connection protector, reading the keys on every connection. */
  connectionProtector(): () => ConnectionProtector {
    return () => multiKeyProtector(() => ({
      current: this.currentHex ? Buffer.from(this.currentHex, 'hex') : undefined,
      accepted: this.acceptedHex.map((k) => Buffer.from(k, 'hex'))
    }))
  }
}

function checkKey(keyHex: string): void {
  if (!/^[0-9a-f]{64}$/.test(keyHex)) throw new Error('a platform key is 64 hex characters')
}

/** A short public name of a key (never the key): shown in logs and status to tell keys apart. */
export function keyId(keyHex: string): string {
  return createHash('sha256').update(`pryv-platform-key:${keyHex}`).digest('hex').slice(0, 12)
}
