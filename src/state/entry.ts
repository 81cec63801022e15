import { createHash, createPrivateKey, type KeyObject, sign } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'

/**
 * A committed entry of the platform log. `payload` is the command's JSON text exactly as proposed;
 * the hash chains each entry to the one before, so a node can tell a forged or replayed entry from
 * the next one it needs.
 */
export interface CommittedEntry {
  readonly revision: number
  readonly prevHash: string
  readonly payload: string
}

/** A committed entry as it travels between nodes: signed by a writer of the platform. */
export interface SignedEntry extends CommittedEntry {
  readonly signer: string
  /** base64 Ed25519 signature over the entry hash. */
  readonly sig: string
}

export function entryHash(e: CommittedEntry): string {
  return createHash('sha256').update(`${e.revision}\n${e.prevHash}\n${e.payload}`).digest('hex')
}

export async function signEntry(e: CommittedEntry, key: PrivateKey, signer: string): Promise<SignedEntry> {
  const digest = Buffer.from(entryHash(e), 'hex')
  const keyObject = ed25519KeyObject(key)
  const sig = keyObject ? sign(null, digest, keyObject) : await key.sign(digest)
  return { revision: e.revision, prevHash: e.prevHash, payload: e.payload, signer, sig: Buffer.from(sig).toString('base64') }
}

const keyObjects = new WeakMap<PrivateKey, KeyObject>()

/**
 * The node's Ed25519 key as a KeyObject, imported once: libp2p's `sign` imports it again for every
 * signature, which costs more than the signature itself (each full node signs every revision).
 */
function ed25519KeyObject(key: PrivateKey): KeyObject | undefined {
  if (key.type !== 'Ed25519' || key.raw.length !== 64) return undefined
  let keyObject = keyObjects.get(key)
  if (!keyObject) {
    const raw = Buffer.from(key.raw)
    keyObject = createPrivateKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', d: raw.subarray(0, 32).toString('base64url'), x: raw.subarray(32).toString('base64url') } })
    keyObjects.set(key, keyObject)
  }
  return keyObject
}

export async function verifyEntrySignature(e: SignedEntry): Promise<boolean> {
  try {
    const publicKey = peerIdFromString(e.signer).publicKey
    if (!publicKey) return false
    return await publicKey.verify(Buffer.from(entryHash(e), 'hex'), Buffer.from(e.sig, 'base64'))
  } catch {
    return false
  }
}

/** Shape check for a SignedEntry that arrived from the network; returns undefined when malformed. */
export function parseSignedEntry(raw: unknown): SignedEntry | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined
  const r = raw as Record<string, unknown>
  if (!Number.isSafeInteger(r.revision) || (r.revision as number) < 1) return undefined
  if (typeof r.prevHash !== 'string' || !/^[0-9a-f]{64}$/.test(r.prevHash)) return undefined
  if (typeof r.payload !== 'string' || r.payload.length > 1_000_000) return undefined
  if (typeof r.signer !== 'string' || r.signer.length > 128) return undefined
  if (typeof r.sig !== 'string' || r.sig.length > 256) return undefined
  return { revision: r.revision as number, prevHash: r.prevHash, payload: r.payload, signer: r.signer, sig: r.sig }
}
