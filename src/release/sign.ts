import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto'
import { releaseDigest } from './digest.js'
import { ReleaseSignatureError, SigningKeyError } from './errors.js'
import type { ReleaseRecord, ReleaseSignature } from './types.js'

/**
 * Releases are signed with ed25519 over `pryv-release-digest:<digest hex>` (the prefix keeps a release
 * signature from meaning anything else signed with the same key). The key id is the first 16 hex
 * characters of the sha256 of the raw 32-byte public key.
 */
const SIGNED_PREFIX = 'pryv-release-digest:'

export interface SigningKeyPair {
  /** PKCS#8 PEM: keep it secret (mode 0600). */
  readonly privateKeyPem: string
  /** SPKI PEM: give it to the nodes that verify (`release verify --key`). */
  readonly publicKeyPem: string
  readonly keyId: string
}

export function generateSigningKeys(): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    keyId: keyIdOf(publicKey)
  }
}

/** The key id of a public key (or of a private key's public half). */
export function keyIdOf(key: KeyObject): string {
  const raw = Buffer.from((key.type === 'public' ? key : createPublicKey(key)).export({ format: 'jwk' }).x!, 'base64url')
  return createHash('sha256').update(raw).digest('hex').slice(0, 16)
}

/** Parses an ed25519 public key in PEM (a private key PEM gives its public half); `what` names it in errors. */
export function publicKeyFromPem(pem: string, what = 'the public key'): KeyObject {
  return ed25519(() => createPublicKey(pem), what)
}

export function privateKeyFromPem(pem: string, what = 'the private key'): KeyObject {
  return ed25519(() => createPrivateKey(pem), what)
}

function ed25519(parse: () => KeyObject, what: string): KeyObject {
  let key: KeyObject
  try {
    key = parse()
  } catch (err) {
    throw new SigningKeyError(what, (err as Error).message)
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SigningKeyError(what, `it is a ${key.asymmetricKeyType ?? 'symmetric'} key`)
  return key
}

/** The release with its digest recomputed from its content and signed with the private key. */
export function signRelease(record: ReleaseRecord, privateKeyPem: string): ReleaseRecord {
  const key = privateKeyFromPem(privateKeyPem)
  const digest = releaseDigest(record)
  const value = sign(null, Buffer.from(SIGNED_PREFIX + digest), key).toString('base64')
  return { ...record, digest, signature: { keyId: keyIdOf(key), value } }
}

/**
 * Checks that the record's content matches its digest and that its signature over the digest is
 * valid and made by one of the trusted keys; returns that key's id. Throws ReleaseSignatureError.
 */
export function verifyRelease(record: ReleaseRecord, trustedPublicKeysPem: readonly string[]): { readonly keyId: string } {
  const release = `${record.name} ${record.version}`
  const digest = releaseDigest(record)
  if (digest !== record.digest) {
    throw new ReleaseSignatureError(
      'PRYV_RELEASE_DIGEST_MISMATCH',
      `release ${release}: its content does not match its digest (${record.digest.slice(0, 16)}…, content gives ${digest.slice(0, 16)}…): it was changed after it was digested`,
      'load the release again from its bundle; if the bundle itself was changed, get it again from its publisher',
      { expected: record.digest, actual: digest }
    )
  }
  if (record.signature === undefined) {
    throw new ReleaseSignatureError('PRYV_RELEASE_UNSIGNED', `release ${release} is not signed, and a signature is required`, 'sign the bundle with `pryv-node release sign BUNDLE-DIR --key PRIVATE.key`, or verify without --key')
  }
  const keys = new Map(trustedPublicKeysPem.map((pem, i) => {
    const key = publicKeyFromPem(pem, `trusted key #${i + 1}`)
    return [keyIdOf(key), key] as const
  }))
  const { keyId, value } = record.signature
  const key = keys.get(keyId)
  if (key === undefined) {
    throw new ReleaseSignatureError(
      'PRYV_RELEASE_UNTRUSTED_KEY',
      `release ${release} is signed by key ${keyId}, which is not among the trusted keys (${[...keys.keys()].join(', ') || 'none'})`,
      'verify with the public key of the publisher (--key PUBLIC.pub), or get the bundle from a trusted publisher',
      { keyId, trusted: [...keys.keys()] }
    )
  }
  if (!verify(null, Buffer.from(SIGNED_PREFIX + record.digest), key, Buffer.from(value, 'base64'))) {
    throw new ReleaseSignatureError(
      'PRYV_RELEASE_BAD_SIGNATURE',
      `release ${release}: the signature of key ${keyId} does not match the release's content`,
      'the bundle was changed after it was signed: get it again from its publisher, or sign it again with `pryv-node release sign`',
      { keyId }
    )
  }
  return { keyId }
}

/** `release.sig` text for a signature. */
export function signatureFileText(signature: ReleaseSignature): string {
  return `keyId: ${signature.keyId}\nvalue: ${signature.value}\n`
}
