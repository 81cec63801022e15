import type Dockerode from 'dockerode'
import { engineMessage } from './docker-errors.js'
import { PullFailedError } from './errors.js'
import { LineSplitter } from './log-file.js'
import type { PullOptions, PullProgress } from './runtime.js'

interface PullEvent {
  readonly status?: string
  readonly id?: string
  readonly progressDetail?: { readonly current?: number; readonly total?: number }
  readonly error?: string
  readonly errorDetail?: { readonly message?: string }
}

/**
 * Pulls and reports progress. dockerd refuses a bad pull up front; podman answers 200 and puts the
 * error in the stream, so the stream is scanned for `error` too.
 */
export async function pullImage(docker: Dockerode, image: string, options: PullOptions = {}): Promise<void> {
  let stream: AsyncIterable<Buffer>
  try {
    stream = (await docker.pull(image, { abortSignal: options.signal })) as AsyncIterable<Buffer>
  } catch (error) {
    throw new PullFailedError(image, engineMessage(error), { cause: error })
  }
  let failure: string | undefined
  const events = new LineSplitter((line) => {
    if (line.trim() === '') return
    const event = JSON.parse(line) as PullEvent
    if (event.error !== undefined || event.errorDetail !== undefined) {
      failure ??= event.errorDetail?.message ?? event.error
    } else {
      options.onProgress?.(toProgress(image, event))
    }
  })
  try {
    for await (const chunk of stream) events.push(chunk)
    events.flush()
  } catch (error) {
    throw new PullFailedError(image, engineMessage(error), { cause: error })
  }
  if (failure !== undefined) throw new PullFailedError(image, failure)
}

function toProgress(image: string, event: PullEvent): PullProgress {
  return {
    image,
    status: event.status ?? '',
    layer: event.id,
    current: event.progressDetail?.current,
    total: event.progressDetail?.total
  }
}
