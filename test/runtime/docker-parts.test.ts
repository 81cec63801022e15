import { Readable } from 'node:stream'
import type Dockerode from 'dockerode'
import { describe, expect, it } from 'vitest'
import { logLines } from '../../src/runtime/docker-logs.js'
import { pullImage } from '../../src/runtime/docker-pull.js'
import { containerName, ownerFilters, toCreateOptions } from '../../src/runtime/docker-spec.js'
import type { LogLine, PullProgress } from '../../src/runtime/index.js'

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const all: LogLine[] = []
  for await (const l of lines) all.push(l)
  return all
}

describe('logLines', () => {
  it('demultiplexes frames split anywhere, with timestamps', async () => {
    const bytes = Buffer.concat([
      frame(1, '2026-01-01T00:00:00.123456789Z hello\n'),
      frame(2, '2026-01-01T00:00:01Z oops\n'),
      frame(1, '2026-01-01T00:00:02Z no newline')
    ])
    const chunks = [bytes.subarray(0, 5), bytes.subarray(5, 30), bytes.subarray(30)]
    const lines = await collect(logLines(Readable.from(chunks)))
    expect(lines.map((l) => `${l.stream} ${l.time.toISOString()} ${l.text}`)).toEqual([
      'stdout 2026-01-01T00:00:00.123Z hello',
      'stderr 2026-01-01T00:00:01.000Z oops',
      'stdout 2026-01-01T00:00:02.000Z no newline'
    ])
  })

  it('reads a whole answer given as one buffer', async () => {
    const lines = await collect(logLines(frame(1, '2026-01-01T00:00:00Z a\n2026-01-01T00:00:00Z b\n')))
    expect(lines.map((l) => l.text)).toEqual(['a', 'b'])
  })
})

describe('pullImage', () => {
  const engine = (...events: object[]): Dockerode =>
    ({ pull: async () => Readable.from(events.map((e) => Buffer.from(`${JSON.stringify(e)}\r\n`))) }) as unknown as Dockerode

  it('reports progress events', async () => {
    const seen: PullProgress[] = []
    await pullImage(
      engine({ status: 'Pulling from test/busybox', id: '1' }, { status: 'Downloading', id: 'abc', progressDetail: { current: 5, total: 10 } }),
      'r/test/busybox:1',
      { onProgress: (e) => seen.push(e) }
    )
    expect(seen).toEqual([
      { image: 'r/test/busybox:1', status: 'Pulling from test/busybox', layer: '1', current: undefined, total: undefined },
      { image: 'r/test/busybox:1', status: 'Downloading', layer: 'abc', current: 5, total: 10 }
    ])
  })

  it('fails on an error inside a 200 stream (podman)', async () => {
    const pull = pullImage(engine({ status: 'Trying to pull' }, { error: 'manifest unknown', errorDetail: { message: 'manifest unknown' } }), 'r/x:1')
    await expect(pull).rejects.toMatchObject({ code: 'PRYV_RUNTIME_PULL_FAILED', message: 'pulling r/x:1 failed: manifest unknown' })
  })

  it('fails when the engine refuses up front (dockerd)', async () => {
    const refusing = { pull: async () => Promise.reject(Object.assign(new Error('(HTTP code 404)'), { statusCode: 404, json: { message: 'manifest unknown' } })) }
    await expect(pullImage(refusing as unknown as Dockerode, 'r/x:1')).rejects.toMatchObject({
      name: 'PullFailedError',
      message: 'pulling r/x:1 failed: manifest unknown'
    })
  })
})

describe('toCreateOptions', () => {
  const owner = { platformId: 'acme', nodeId: 'n1', labels: { extra: 'yes' } }

  it('labels the container, mounts directories, runs an init and maps the restart policy', () => {
    const options = toCreateOptions(
      { name: 'core', image: 'pryvio/core:1', configDir: '/var/pryv/services/core/conf', dataDir: '/var/pryv/services/core/data', restart: { policy: 'on-failure', maxRetries: 4 } },
      owner,
      'h1'
    )
    expect(options.name).toBe(containerName(owner, 'core'))
    expect(options.Labels).toEqual({ extra: 'yes', 'io.pryv.platform': 'acme', 'io.pryv.node': 'n1', 'io.pryv.service': 'core', 'io.pryv.spec-hash': 'h1' })
    expect(options.HostConfig).toMatchObject({
      Init: true,
      NetworkMode: 'host',
      Binds: ['/var/pryv/services/core/conf:/app/conf:ro', '/var/pryv/services/core/data:/app/data'],
      RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 4 }
    })
    expect(options.Env).toEqual(['PRYV_CONFIG_DIR=/app/conf', 'PRYV_DATA_DIR=/app/data'])
  })

  it('publishes ports on 127.0.0.1 only on a network that is not the host', () => {
    const spec = { name: 'web', image: 'i', ports: [{ container: 80, host: 8080 }] }
    expect(toCreateOptions(spec, owner, 'h').HostConfig?.PortBindings).toBeUndefined()
    expect(toCreateOptions({ ...spec, network: 'pryv' }, owner, 'h').HostConfig?.PortBindings).toEqual({
      '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '8080' }]
    })
  })

  it('needs an image', () => {
    expect(() => toCreateOptions({ name: 'x', command: '/bin/true' }, owner, 'h')).toThrow(expect.objectContaining({ code: 'PRYV_RUNTIME_INVALID_SPEC' }))
  })

  it('filters on platform and node, and on the service when given', () => {
    expect(JSON.parse(ownerFilters(owner, 'core'))).toEqual({ label: ['io.pryv.platform=acme', 'io.pryv.node=n1', 'io.pryv.service=core'] })
  })
})
