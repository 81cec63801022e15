import { createConnection } from 'node:net'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import { callControl, streamControl } from '../../src/control/client.js'
import { type ControlHandler, ControlServer, controlStream } from '../../src/control/server.js'
import { ExitCode, OperatorError } from '../../src/errors.js'
import { createLogger } from '../../src/log.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => {
      clearTimeout(timer)
      resolve()
    }, { once: true })
  })
}

async function collect(items: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const item of items) out.push(item)
  return out
}

describe('control socket: one-shot replies and streams', () => {
  let server: ControlServer
  let path: string
  /** What the endless stream saw: how many items it made, and whether its signal aborted. */
  let endless: { produced: number, aborted: boolean, finished: boolean }

  const handlers: Record<string, ControlHandler> = {
    echo: async (p) => ({ echo: p.text }),
    refuse: async () => {
      throw new OperatorError('PRYV_TEST_REFUSED', 'Refused.', { hint: 'Ask again.', exitCode: ExitCode.conflict })
    },
    count: async (p) => controlStream((async function* () {
      for (let i = 1; i <= Number(p.to); i++) yield { n: i }
    })()),
    breaks: async () => controlStream((async function* () {
      yield 'first'
      throw new OperatorError('PRYV_TEST_BROKE', 'The stream broke.', { exitCode: ExitCode.unreachable })
    })()),
    endless: async (_p, signal) => controlStream((async function* () {
      signal.addEventListener('abort', () => { endless.aborted = true }, { once: true })
      try {
        while (!signal.aborted) {
          yield { n: ++endless.produced }
          await sleep(20, signal)
        }
      } finally {
        endless.finished = true
      }
    })()),
    /** A stream that waits (for a log line that never comes) until its client leaves. */
    silent: async (_p, signal) => controlStream((async function* () {
      signal.addEventListener('abort', () => { endless.aborted = true }, { once: true })
      yield 'ready'
      await sleep(60_000, signal)
      endless.finished = true
    })())
  }

  beforeEach(async () => {
    path = join(tempDir('pnc-'), 'control.sock')
    endless = { produced: 0, aborted: false, finished: false }
    server = new ControlServer(path, handlers, createLogger('silent'))
    await server.start()
  })

  afterEach(async () => {
    await server.stop()
  })

  afterAll(() => cleanupTempDirs())

  it('answers one-shot methods as before: a result, or the operator error', async () => {
    expect(await callControl(path, 'echo', { text: 'hi' })).toEqual({ echo: 'hi' })
    await expect(callControl(path, 'refuse')).rejects.toMatchObject({ code: 'PRYV_TEST_REFUSED', hint: 'Ask again.', exitCode: ExitCode.conflict })
    await expect(callControl(path, 'nope')).rejects.toMatchObject({ code: 'PRYV_CONTROL_UNKNOWN_METHOD' })
  })

  it('streams one item per line, in order, and ends', async () => {
    expect(await collect(streamControl(path, 'count', { to: 5 }))).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })))
    expect(await collect(streamControl(path, 'count', { to: 0 }))).toEqual([])
    // A one-shot method read as a stream gives its one value.
    expect(await collect(streamControl(path, 'echo', { text: 'once' }))).toEqual([{ echo: 'once' }])
  })

  it('delivers the items before an error, then throws the error', async () => {
    const seen: unknown[] = []
    await expect((async () => {
      for await (const item of streamControl(path, 'breaks')) seen.push(item)
    })()).rejects.toMatchObject({ code: 'PRYV_TEST_BROKE', exitCode: ExitCode.unreachable })
    expect(seen).toEqual(['first'])
    await expect(collect(streamControl(path, 'refuse'))).rejects.toMatchObject({ code: 'PRYV_TEST_REFUSED' })
  })

  it('aborts the handler when the client leaves the loop (the connection closes)', async () => {
    const seen: unknown[] = []
    for await (const item of streamControl(path, 'endless')) {
      seen.push(item)
      if (seen.length === 3) break
    }
    await expect.poll(() => endless.aborted && endless.finished, { timeout: 2000 }).toBe(true)
    const produced = endless.produced
    await sleep(100)
    expect(endless.produced).toBe(produced)
  })

  it('aborts a handler that waits with nothing to send when the client aborts its signal', async () => {
    const stop = new AbortController()
    const seen: unknown[] = []
    for await (const item of streamControl(path, 'silent', {}, { signal: stop.signal })) {
      seen.push(item)
      stop.abort()
    }
    expect(seen).toEqual(['ready'])
    // Its wait (60 s) ends at once: the handler passes the signal down.
    await expect.poll(() => endless.aborted && endless.finished, { timeout: 2000 }).toBe(true)
  })

  it('aborts the handler when the client process dies (the socket is destroyed)', async () => {
    const socket = createConnection(path)
    socket.write(`${JSON.stringify({ method: 'endless', params: {}, stream: true })}\n`)
    await new Promise<void>((resolve) => socket.once('data', () => resolve()))
    socket.destroy()
    await expect.poll(() => endless.aborted && endless.finished, { timeout: 2000 }).toBe(true)
  })

  it('refuses to send a stream to a one-shot client, and stops the stream', async () => {
    await expect(callControl(path, 'endless')).rejects.toMatchObject({ code: 'PRYV_CONTROL_STREAM_ONLY', exitCode: ExitCode.usage })
  })

  it('a node that stops ends its streams: the client is told the node closed', async () => {
    const items = streamControl(path, 'endless')
    const first = await items.next()
    expect(first.value).toEqual({ n: 1 })
    await server.stop()
    await expect((async () => {
      for await (const _ of items) { /* drain what was already sent */ }
    })()).rejects.toMatchObject({ code: 'PRYV_NODE_NO_REPLY', exitCode: ExitCode.unreachable })
    expect(endless.aborted).toBe(true)
  })

  it('fails a silent stream after the idle timeout, and reports a missing node', async () => {
    await expect((async () => {
      for await (const _ of streamControl(path, 'silent', {}, { idleTimeoutMs: 200 })) { /* first item, then silence */ }
    })()).rejects.toMatchObject({ code: 'PRYV_NODE_TIMEOUT' })
    await expect.poll(() => endless.aborted, { timeout: 2000 }).toBe(true)
    await expect(collect(streamControl(join(tempDir('pnc-'), 'none.sock'), 'count', { to: 1 }))).rejects.toMatchObject({ code: 'PRYV_NODE_NOT_RUNNING', exitCode: ExitCode.notRunning })
  })
})
