import { randomBytes } from 'node:crypto'
import type { AbortOptions, ConnectionProtector, MultiaddrConnection } from '@libp2p/interface'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
import xsalsa20 from 'xsalsa20'

const NONCE_LENGTH = 24
/** What every libp2p connection starts with once protected: multistream-select's header, length-prefixed. */
const MULTISTREAM_HEADER = new Uint8Array([19, ...new TextEncoder().encode('/multistream/1.0.0\n')])
const HANDSHAKE_TIMEOUT_MS = 5000
/**
 * The most bytes given to a cipher at once. xsalsa20's WebAssembly memory is shared by every cipher
 * of the process and starts at 640 KiB; a larger input grows it, and every other cipher, left with a
 * stale view of it, grows it again on its next call, until its 62.5 MiB limit throws and the node
 * stops (seen serving 1 MiB snapshot chunks). In slices this small it never grows.
 */
const CIPHER_SLICE_BYTES = 64 * 1024

type Cipher = ReturnType<typeof xsalsa20>

/** XORs `data` with the cipher's key stream, in slices (the same bytes as in one call). */
function xor(cipher: Cipher, data: Uint8Array): Uint8Array {
  if (data.length <= CIPHER_SLICE_BYTES) return cipher.update(data)
  const out = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i += CIPHER_SLICE_BYTES) cipher.update(data.subarray(i, i + CIPHER_SLICE_BYTES), out.subarray(i, i + CIPHER_SLICE_BYTES))
  return out
}

/** The keys a node protects its connections with: it dials with `current` and accepts any of `accepted`. */
export interface PnetKeys {
  readonly current?: Uint8Array
  readonly accepted: readonly Uint8Array[]
}

/**
 * libp2p's private network (the same wire format as @libp2p/pnet: a 24-byte nonce each way, then
 * XSalsa20 with the pre-shared key) with several keys accepted at once, for key rotation. An inbound
 * connection's key is recognised from its first 20 bytes, which the dialer always sends first and
 * which are multistream-select's fixed header: no other key decrypts them to it. `keys` is read on
 * every connection, so the keys can change while the node runs.
 */
export function multiKeyProtector(keys: () => PnetKeys): ConnectionProtector {
  return {
    async protect(connection: MultiaddrConnection, options?: AbortOptions): Promise<MultiaddrConnection> {
      const { current, accepted } = keys()
      if (!current || accepted.length === 0) throw new Error('this node does not hold the platform key yet')
      const signal = options?.signal ?? AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS)
      const localNonce = new Uint8Array(randomBytes(NONCE_LENGTH))
      const bytes = byteStream(connection)
      const [remote] = await Promise.all([bytes.read({ bytes: NONCE_LENGTH, signal }), bytes.write(localNonce, { signal })])
      const remoteNonce = remote.subarray()
      let psk = current
      let head: Uint8ArrayList | undefined
      if (connection.direction === 'inbound' && accepted.length > 1) {
        head = await bytes.read({ bytes: MULTISTREAM_HEADER.length, signal })
        const start = head.subarray()
        const match = accepted.find((key) => startsWithHeader(start, remoteNonce, key))
        if (!match) throw new Error('the peer uses none of the platform keys')
        psk = match
      } else if (connection.direction === 'inbound') {
        psk = accepted[0] as Uint8Array
      }
      const raw = bytes.unwrap()
      if (head) raw.unshift(head)
      return new PrivateConnection(raw, localNonce, remoteNonce, psk)
    }
  }
}

function startsWithHeader(encrypted: Uint8Array, remoteNonce: Uint8Array, psk: Uint8Array): boolean {
  const cipher = xsalsa20(remoteNonce, psk)
  const plain = cipher.update(encrypted)
  cipher.finalize()
  return plain.every((b, i) => b === MULTISTREAM_HEADER[i])
}

/** The connection after the nonce exchange: XORs everything with the two XSalsa20 key streams. */
class PrivateConnection extends AbstractMultiaddrConnection {
  private readonly inbound
  private readonly outbound

  constructor(private readonly raw: MultiaddrConnection, localNonce: Uint8Array, remoteNonce: Uint8Array, psk: Uint8Array) {
    super({ remoteAddr: raw.remoteAddr, direction: raw.direction, log: raw.log.newScope('pnet') })
    this.inbound = xsalsa20(remoteNonce, psk)
    this.outbound = xsalsa20(localNonce, psk)
    raw.addEventListener('message', (evt) => {
      const data = evt.data
      if (data instanceof Uint8Array) this.onData(xor(this.inbound, data))
      else for (const chunk of data) this.onData(xor(this.inbound, chunk))
    })
    raw.addEventListener('drain', () => this.onMuxerDrain())
    raw.addEventListener('close', (evt) => {
      if (evt.error == null) this.onTransportClosed()
      else if (evt.local) this.abort(evt.error)
      else this.onRemoteReset()
    })
  }

  async sendClose(options?: AbortOptions): Promise<void> {
    await this.raw.close(options)
  }

  sendData(data: Uint8ArrayList): { sentBytes: number, canSendMore: boolean } {
    return { sentBytes: data.byteLength, canSendMore: this.raw.send(xor(this.outbound, data.subarray())) }
  }

  sendReset(err: Error): void {
    this.raw.abort(err)
  }

  sendPause(): void {
    this.raw.pause()
  }

  sendResume(): void {
    this.raw.resume()
  }
}
