import { mkdtempSync, renameSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type LogLine, type PullProgress, type Runtime, reconcile, type ServiceSpec, specHash } from '../../src/runtime/index.js'

/** How one backend runs the shared cases. */
export interface ContractFixture {
  readonly kind: 'docker' | 'process'
  /** A runtime with the suite's node identity; each call is a fresh instance (a restarted node). */
  runtime(): Runtime
  /** Spec fields that run `script` with /bin/sh. */
  shell(script: string): Pick<ServiceSpec, 'image' | 'command' | 'args'>
  /** Spec fields that run `script` with Node.js. */
  node(script: string): Pick<ServiceSpec, 'image' | 'command' | 'args'>
  /** Containers the runtime must never touch (docker only). */
  readonly foreign?: {
    /** An unlabelled container with the name the runtime would give `service`; returns its id. */
    sameName(service: string): Promise<string>
    /** A container labelled for the same platform but another node; returns its id. */
    otherNode(service: string): Promise<string>
    exists(id: string): Promise<boolean>
  }
  /** An image in a local registry, one that is missing there, and how to drop the local copy (pull-capable backends). */
  readonly pull?: { readonly image: string; readonly missing: string; forget(): Promise<void> }
  teardown(): Promise<void>
}

const WAIT_MS = 20_000
const STOP = { timeoutMs: 2_000 }

let counter = 0
function uniqueName(prefix: string): string {
  counter++
  return `${prefix}-${process.pid}-${counter}`
}

async function eventually<T>(probe: () => Promise<T | undefined | false>, what: string): Promise<T> {
  const signal = AbortSignal.timeout(WAIT_MS)
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (signal.aborted) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function collect(lines: AsyncIterable<LogLine>): Promise<LogLine[]> {
  const all: LogLine[] = []
  for await (const line of lines) all.push(line)
  return all
}

/** The iterator of a follow, advanced past the first line with `text`. */
async function followUntil(lines: AsyncIterable<LogLine>, text: string): Promise<AsyncIterator<LogLine>> {
  const iterator = lines[Symbol.asyncIterator]()
  for (;;) {
    const next = await iterator.next()
    if (next.done) throw new Error(`the follow ended before "${text}"`)
    if (next.value.text === text) return iterator
  }
}

/** `signal`, bounded by the test wait limit. */
function anySignal(signal?: AbortSignal): AbortSignal {
  return signal === undefined ? AbortSignal.timeout(WAIT_MS) : AbortSignal.any([signal, AbortSignal.timeout(WAIT_MS)])
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

/** The cases every Runtime backend must pass. */
export function runtimeContract(fixture: ContractFixture): void {
  let rt: Runtime

  beforeAll(() => {
    rt = fixture.runtime()
  })

  afterEach(async () => {
    for (const s of await rt.list()) await rt.remove(s.name, STOP)
  })

  afterAll(async () => {
    await rt?.close(STOP)
    await fixture.teardown()
  })

  function sleeper(name: string, more: Partial<ServiceSpec> = {}): ServiceSpec {
    return { name, ...fixture.shell('echo up; exec sleep 1000'), stopTimeoutMs: 2_000, ...more }
  }

  describe('ensure', () => {
    it('creates a service, adopts it unchanged, and recreates it when the spec changes', async () => {
      const spec = sleeper(uniqueName('ensure'))
      const first = await rt.ensure(spec)
      expect(first.action).toBe('created')
      expect(first.status).toMatchObject({ name: spec.name, state: 'created', exitCode: null, startedAt: null, specHash: specHash(spec) })
      expect((await rt.ensure(spec)).action).toBe('unchanged')
      expect((await rt.list()).map((s) => s.name)).toEqual([spec.name])

      const changed = { ...spec, env: { GREETING: 'hello' } }
      const second = await rt.ensure(changed)
      expect(second.action).toBe('recreated')
      expect(second.status.specHash).toBe(specHash(changed))
      expect(second.status.specHash).not.toBe(first.status.specHash)
      expect((await rt.list()).map((s) => s.name)).toEqual([spec.name])
    })

    it('rejects a spec it cannot run, with a stable code', async () => {
      await expect(rt.ensure({ name: 'bad name!', command: '/bin/true', image: 'x' })).rejects.toMatchObject({
        name: 'InvalidSpecError',
        code: 'PRYV_RUNTIME_INVALID_SPEC'
      })
    })

    it.runIf(fixture.kind === 'docker')('a restarted node adopts its running services', async () => {
      const spec = sleeper(uniqueName('adopt'))
      await rt.ensure(spec)
      await rt.start(spec.name)
      const before = await rt.status(spec.name)
      const restarted = fixture.runtime()
      try {
        expect((await restarted.ensure(spec)).action).toBe('unchanged')
        const after = await restarted.status(spec.name)
        expect(after.state).toBe('running')
        expect(after.startedAt).toEqual(before.startedAt)
        expect((await restarted.list()).map((s) => s.name)).toEqual([spec.name])
      } finally {
        await restarted.close()
      }
    })
  })

  describe('lifecycle', () => {
    it('starts, restarts and stops, reporting state, start time and exit code', async () => {
      const spec = sleeper(uniqueName('life'))
      await rt.ensure(spec)
      await rt.start(spec.name)
      const running = await rt.status(spec.name)
      expect(running).toMatchObject({ state: 'running', exitCode: null, restartCount: 0 })
      expect(running.startedAt).toBeInstanceOf(Date)
      await rt.start(spec.name) // no-op when running
      expect((await rt.status(spec.name)).startedAt).toEqual(running.startedAt)

      await rt.restart(spec.name, STOP)
      const restarted = await rt.status(spec.name)
      expect(restarted.state).toBe('running')
      expect(restarted.startedAt!.getTime()).toBeGreaterThan(running.startedAt!.getTime())
      expect(restarted.restartCount).toBe(0) // asked for, not a policy restart

      await rt.stop(spec.name, STOP)
      // SIGTERM ends `sleep`: 128 + 15.
      expect(await rt.status(spec.name)).toMatchObject({ state: 'exited', exitCode: 143 })
      await rt.stop(spec.name, STOP) // no-op when stopped
    })

    it('reports the exit code of a service that exits on its own', async () => {
      const spec: ServiceSpec = { name: uniqueName('exit'), ...fixture.shell('exit 3'), restart: { policy: 'no' } }
      await rt.ensure(spec)
      await rt.start(spec.name)
      const s = await eventually(async () => {
        const s = await rt.status(spec.name)
        return s.state === 'exited' && s
      }, 'the service to exit')
      expect(s.exitCode).toBe(3)
      expect(s.restartCount).toBe(0)
    })

    it('kills a service that ignores SIGTERM once the stop timeout passes', async () => {
      const spec = sleeper(uniqueName('stubborn'), fixture.shell('trap "" TERM; echo up; while true; do sleep 0.1; done'))
      await rt.ensure(spec)
      await rt.start(spec.name)
      await eventually(async () => (await collect(rt.logs(spec.name))).some((l) => l.text === 'up'), 'the trap to be set')
      await rt.stop(spec.name, { timeoutMs: 1_000 })
      expect(await rt.status(spec.name)).toMatchObject({ state: 'exited', exitCode: 137 })
    })

    it('ends a service whose command does not exist with a failure exit code', async () => {
      const spec: ServiceSpec = { ...sleeper(uniqueName('nocmd')), command: '/no/such/command', args: [], restart: { policy: 'no' } }
      await rt.ensure(spec)
      // Processes fail at spawn; a container's init starts and then cannot exec the command.
      const failure = await rt.start(spec.name).then(
        () => null,
        (error: unknown) => error
      )
      if (failure !== null) expect(failure).toMatchObject({ name: 'StartFailedError', code: 'PRYV_RUNTIME_START_FAILED' })
      const s = await eventually(async () => {
        const s = await rt.status(spec.name)
        return s.state === 'exited' && s
      }, 'the service to end')
      // 127 from a process or dockerd's init; podman's catatonit exits 1.
      expect(s.exitCode).toBeGreaterThan(0)
    })

    it('restarts a crashing service with backoff until it is stopped', async () => {
      const spec: ServiceSpec = { name: uniqueName('crash'), ...fixture.shell('echo crash; exit 1'), restart: { policy: 'on-failure' } }
      await rt.ensure(spec)
      await rt.start(spec.name)
      await eventually(async () => (await rt.status(spec.name)).restartCount >= 2, 'two policy restarts')
      const crashes = (await collect(rt.logs(spec.name))).filter((l) => l.text === 'crash')
      expect(crashes.length).toBeGreaterThanOrEqual(2)
      await rt.stop(spec.name, STOP)
      const stopped = await rt.status(spec.name)
      expect(stopped.state).toBe('exited')
      expect(stopped.exitCode).toBe(1)
    })

    it('removes a service; removing again is a no-op', async () => {
      const spec = sleeper(uniqueName('remove'))
      await rt.ensure(spec)
      await rt.start(spec.name)
      await rt.remove(spec.name, STOP)
      await expect(rt.status(spec.name)).rejects.toMatchObject({ name: 'ServiceNotFoundError', code: 'PRYV_RUNTIME_SERVICE_NOT_FOUND' })
      await rt.remove(spec.name, STOP)
      expect(await rt.list()).toEqual([])
      await expect(rt.start(spec.name)).rejects.toMatchObject({ name: 'ServiceNotFoundError' })
    })

    it('gives the service its config directory', async () => {
      const conf = mkdtempSync(join(tmpdir(), 'pryv-runtime-conf-'))
      writeFileSync(join(conf, 'app.conf'), 'colour=blue\n')
      const spec: ServiceSpec = {
        name: uniqueName('conf'),
        ...fixture.shell('cat "$PRYV_CONFIG_DIR/app.conf"; exec sleep 1000'),
        configDir: conf,
        stopTimeoutMs: 2_000
      }
      await rt.ensure(spec)
      await rt.start(spec.name)
      await eventually(async () => (await collect(rt.logs(spec.name))).some((l) => l.text === 'colour=blue'), 'the config line')
      // The directory is mounted, not the file: a file replaced by rename is seen by the next run.
      writeFileSync(join(conf, 'app.conf.new'), 'colour=green\n')
      renameSync(join(conf, 'app.conf.new'), join(conf, 'app.conf'))
      await rt.restart(spec.name, STOP)
      await eventually(async () => (await collect(rt.logs(spec.name))).some((l) => l.text === 'colour=green'), 'the new config line')
    })
  })

  describe('health', () => {
    it('waitHealthy resolves once an HTTP check passes', async () => {
      const port = await freePort()
      const server = `setTimeout(() => require('http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1'), 300)`
      const spec: ServiceSpec = {
        name: uniqueName('http'),
        ...fixture.node(server),
        stopTimeoutMs: 2_000,
        health: { probe: { kind: 'http', port, path: '/health' }, intervalMs: 100, retries: 1, timeoutMs: 1_000, startPeriodMs: WAIT_MS }
      }
      await rt.ensure(spec)
      expect((await rt.status(spec.name)).health).toBe('starting')
      await rt.start(spec.name)
      const s = await rt.waitHealthy(spec.name, AbortSignal.timeout(WAIT_MS))
      expect(s).toMatchObject({ state: 'running', health: 'healthy' })
    })

    it('runs command checks where the service runs', async () => {
      const spec = sleeper(uniqueName('cmd'), {
        health: { probe: { kind: 'command', command: '/bin/sh', args: ['-c', 'exit 0'] }, intervalMs: 100, timeoutMs: 5_000 }
      })
      await rt.ensure(spec)
      await rt.start(spec.name)
      expect((await rt.waitHealthy(spec.name, AbortSignal.timeout(WAIT_MS))).health).toBe('healthy')
    })

    it('waitHealthy fails with PRYV_RUNTIME_UNHEALTHY when the check keeps failing', async () => {
      const port = await freePort()
      const spec = sleeper(uniqueName('unhealthy'), {
        health: { probe: { kind: 'tcp', port }, intervalMs: 100, retries: 2, timeoutMs: 500 }
      })
      await rt.ensure(spec)
      await rt.start(spec.name)
      await expect(rt.waitHealthy(spec.name, AbortSignal.timeout(WAIT_MS))).rejects.toMatchObject({
        name: 'UnhealthyError',
        code: 'PRYV_RUNTIME_UNHEALTHY'
      })
      expect((await rt.status(spec.name)).health).toBe('unhealthy')
    })

    it('waitHealthy fails when the service exits before it is healthy', async () => {
      const spec: ServiceSpec = {
        name: uniqueName('dies'),
        ...fixture.shell('exit 2'),
        restart: { policy: 'no' },
        health: { probe: { kind: 'tcp', port: await freePort() }, intervalMs: 100 }
      }
      await rt.ensure(spec)
      await rt.start(spec.name)
      await expect(rt.waitHealthy(spec.name, AbortSignal.timeout(WAIT_MS))).rejects.toThrow(/exited with code 2/)
    })
  })

  describe('logs', () => {
    const script = 'echo run-$(cat /proc/sys/kernel/random/uuid); echo oops >&2; echo one; echo two; exec sleep 1000'

    it('reads past lines with their stream, tail and since', async () => {
      const spec = sleeper(uniqueName('logs'), fixture.shell(script))
      await rt.ensure(spec)
      await rt.start(spec.name)
      const all = await eventually(async () => {
        const lines = await collect(rt.logs(spec.name))
        return lines.length >= 4 && lines
      }, 'four log lines')
      expect(all.filter((l) => l.stream === 'stdout').map((l) => l.text.replace(/^run-.*/, 'run'))).toEqual(['run', 'one', 'two'])
      expect(all.filter((l) => l.stream === 'stderr').map((l) => l.text)).toEqual(['oops'])
      expect(all.every((l) => l.time instanceof Date && !Number.isNaN(l.time.getTime()))).toBe(true)
      expect(await collect(rt.logs(spec.name, { tail: 2 }))).toEqual(all.slice(-2))
      expect(await collect(rt.logs(spec.name, { since: new Date(Date.now() + 60_000) }))).toEqual([])
    })

    it('follows across a restart', async () => {
      const spec = sleeper(uniqueName('follow'), fixture.shell(script))
      await rt.ensure(spec)
      await rt.start(spec.name)
      const runs = new Set<string>()
      let restart: Promise<void> | undefined
      for await (const line of rt.logs(spec.name, { follow: true, tail: 10, signal: AbortSignal.timeout(WAIT_MS) })) {
        if (line.text.startsWith('run-')) runs.add(line.text)
        if (runs.size === 1 && restart === undefined) restart = rt.restart(spec.name, STOP)
        if (runs.size === 2) break
      }
      await restart
      expect(runs.size).toBe(2)
    })

    it('ends a follow when the service is removed or the signal aborts', async () => {
      const spec = sleeper(uniqueName('end'))
      await rt.ensure(spec)
      await rt.start(spec.name)
      const aborted = new AbortController()
      const following = await followUntil(rt.logs(spec.name, { follow: true, signal: anySignal(aborted.signal) }), 'up')
      const waiting = following.next()
      aborted.abort()
      expect((await waiting).done).toBe(true)

      const untilRemoved = await followUntil(rt.logs(spec.name, { follow: true, signal: anySignal() }), 'up')
      const stillWaiting = untilRemoved.next()
      await rt.remove(spec.name, STOP)
      expect((await stillWaiting).done).toBe(true)
    })
  })

  describe('reconcile', () => {
    it('creates, leaves alone, recreates, restarts on config change and removes', async () => {
      const a = sleeper(uniqueName('rec-a'))
      const b = sleeper(uniqueName('rec-b'))
      const kinds = (results: { action: { kind: string; service: string } }[]): string[] =>
        results.map((r) => `${r.action.kind} ${r.action.service}`)

      expect(kinds(await reconcile(rt, [a, b], STOP))).toEqual([`create ${a.name}`, `create ${b.name}`])
      expect((await rt.list()).map((s) => s.state)).toEqual(['running', 'running'])
      expect(kinds(await reconcile(rt, [a, b], STOP))).toEqual([`nothing ${a.name}`, `nothing ${b.name}`])

      const a2 = { ...a, env: { VERSION: '2' } }
      const results = await reconcile(rt, [a2, b], { ...STOP, configChanged: new Set([b.name]) })
      expect(results.every((r) => r.error === undefined)).toBe(true)
      expect(kinds(results)).toEqual([`recreate ${a.name}`, `restart ${b.name}`])
      expect((await rt.status(a.name)).specHash).toBe(specHash(a2))

      expect(kinds(await reconcile(rt, [a2], STOP))).toEqual([`remove ${b.name}`, `nothing ${a.name}`])
      expect((await rt.list()).map((s) => s.name)).toEqual([a.name])
    })
  })

  describe.runIf(fixture.foreign !== undefined)('containers it does not own', () => {
    it('never adopts, lists or removes them', async () => {
      const foreign = fixture.foreign!
      const service = uniqueName('foreign')
      const sameName = await foreign.sameName(service)
      const otherNode = await foreign.otherNode(uniqueName('other'))

      await expect(rt.ensure(sleeper(service))).rejects.toMatchObject({ name: 'NameConflictError', code: 'PRYV_RUNTIME_NAME_CONFLICT' })
      expect(await rt.list()).toEqual([])
      await expect(rt.status(service)).rejects.toMatchObject({ name: 'ServiceNotFoundError' })
      await rt.remove(service, STOP)
      expect(await reconcile(rt, [], STOP)).toEqual([])
      expect(await foreign.exists(sameName)).toBe(true)
      expect(await foreign.exists(otherNode)).toBe(true)
    })
  })

  describe('pull', () => {
    it.runIf(fixture.pull !== undefined)('pulls with progress events and fails clearly for a missing image', async () => {
      const events: string[] = []
      await rt.pull(fixture.pull!.image, { signal: AbortSignal.timeout(WAIT_MS), onProgress: (e) => events.push(e.status) })
      expect(events.length).toBeGreaterThan(0)
      await expect(rt.pull(fixture.pull!.missing, { signal: AbortSignal.timeout(WAIT_MS) })).rejects.toMatchObject({
        name: 'PullFailedError',
        code: 'PRYV_RUNTIME_PULL_FAILED'
      })
    })

    it.runIf(fixture.pull !== undefined)('reconcile pulls the missing image of a service it creates', async () => {
      await fixture.pull!.forget()
      const spec: ServiceSpec = { name: uniqueName('pulled'), image: fixture.pull!.image, command: '/bin/sh', args: ['-c', 'exec sleep 1000'], stopTimeoutMs: 2_000 }
      const events: PullProgress[] = []
      const [result] = await reconcile(rt, [spec], { ...STOP, onPullProgress: (e) => events.push(e) })
      expect(result!.error).toBeUndefined()
      expect(events.length).toBeGreaterThan(0)
      expect((await rt.status(spec.name)).state).toBe('running')
    })

    it.runIf(fixture.pull === undefined)('says pulling is unsupported', async () => {
      expect(rt.capabilities.pull).toBe(false)
      await expect(rt.pull('busybox:latest')).rejects.toMatchObject({ name: 'UnsupportedError', code: 'PRYV_RUNTIME_UNSUPPORTED' })
    })
  })
}
