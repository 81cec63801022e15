import { createWriteStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ExitCode, OperatorError } from '../errors.js'

/** A release bundle received over HTTP, kept in a private temporary directory until `remove()`. */
export interface Upload {
  readonly file: string
  remove(): Promise<void>
}

/**
 * Writes a request body (a `.tgz` bundle) to a new temporary directory, refusing it past `maxBytes`
 * (nothing is kept then). The bundle is checked and unpacked later by the release code, as one
 * given to `release apply` on the command line.
 */
export async function receiveUpload(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<Upload> {
  if (!body) throw new OperatorError('PRYV_ADMIN_UPLOAD_EMPTY', 'The request has no body.', { hint: 'Send the bundle (.tgz) as the request body.', exitCode: ExitCode.invalidInput })
  const dir = await mkdtemp(join(tmpdir(), 'pryv-upload-'))
  const file = join(dir, 'bundle.tgz')
  const remove = () => rm(dir, { recursive: true, force: true })
  let bytes = 0
  try {
    await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>), async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        bytes += chunk.length
        if (bytes > maxBytes) throw uploadTooLarge(maxBytes)
        yield chunk
      }
    }, createWriteStream(file, { mode: 0o600 }))
  } catch (err) {
    await remove()
    throw err
  }
  if (bytes === 0) {
    await remove()
    throw new OperatorError('PRYV_ADMIN_UPLOAD_EMPTY', 'The request body is empty.', { hint: 'Send the bundle (.tgz) as the request body.', exitCode: ExitCode.invalidInput })
  }
  return { file, remove }
}

export class UploadTooLarge extends OperatorError {}

export function uploadTooLarge(maxBytes: number): UploadTooLarge {
  return new UploadTooLarge('PRYV_ADMIN_REQUEST_TOO_LARGE', `The bundle is larger than ${Math.round(maxBytes / (1024 * 1024))} MiB.`, { hint: 'A release bundle is a .tgz of its directory: leave out what the release does not need.', exitCode: ExitCode.invalidInput })
}
