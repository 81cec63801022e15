import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect, it } from 'vitest'
import { entryHash, signEntry, verifyEntrySignature } from '../../src/state/entry.js'

it('signs an entry with the key imported once: the same Ed25519 signature as libp2p\'s, and it verifies', async () => {
  const key = await generateKeyPair('Ed25519')
  const signer = peerIdFromPrivateKey(key).toString()
  for (let revision = 1; revision <= 3; revision++) {
    const e = { revision, prevHash: '0'.repeat(64), payload: `{"kind":"x","n":${revision}}` }
    const signed = await signEntry(e, key, signer)
    expect(signed.sig).toBe(Buffer.from(await key.sign(Buffer.from(entryHash(e), 'hex'))).toString('base64'))
    expect(await verifyEntrySignature(signed)).toBe(true)
    expect(await verifyEntrySignature({ ...signed, payload: `${signed.payload} ` })).toBe(false)
  }
})
