import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { CommittedEntry } from '../../src/state/entry.js'

/** A node's signing key and peer id, for tests that sign platform log entries. */
export interface Writer { key: PrivateKey, id: string }

export async function writer(): Promise<Writer> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

/** An unsigned log entry holding `command`, stamped by `author` at a time derived from the revision. */
export function entry(revision: number, prevHash: string, command: Record<string, unknown>, author: string): CommittedEntry {
  return { revision, prevHash, payload: JSON.stringify({ ...command, at: 1000 * revision, author }) }
}
