import { LineSplitter } from './log-file.js'
import type { LogLine } from './runtime.js'

/**
 * Lines of a container log answer (`timestamps=true`, no TTY): 8-byte frame headers (stream type,
 * payload size) demultiplex stdout and stderr; each line starts with its RFC 3339 timestamp.
 */
export async function* logLines(source: Buffer | AsyncIterable<Buffer>): AsyncIterable<LogLine> {
  const ready: LogLine[] = []
  const stdout = new LineSplitter((raw) => ready.push(withTime('stdout', raw)))
  const stderr = new LineSplitter((raw) => ready.push(withTime('stderr', raw)))
  let pending: Buffer = Buffer.alloc(0)
  for await (const chunk of Buffer.isBuffer(source) ? [source] : source) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4)
      if (pending.length < 8 + size) break
      const payload = pending.subarray(8, 8 + size)
      ;(pending[0] === 2 ? stderr : stdout).push(payload)
      pending = pending.subarray(8 + size)
    }
    yield* ready.splice(0)
  }
  stdout.flush()
  stderr.flush()
  yield* ready.splice(0)
}

function withTime(stream: LogLine['stream'], raw: string): LogLine {
  const space = raw.indexOf(' ')
  const time = new Date(raw.slice(0, space))
  if (space < 0 || Number.isNaN(time.getTime())) return { stream, text: raw, time: new Date() }
  return { stream, text: raw.slice(space + 1), time }
}
