import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { effectiveSettings, renderServices } from '../../src/config/index.js'
import { builtinReleasePath, compileRelease, dependencyOrder, loadRelease, RELEASE_MARKER_FILE, type ReleaseRecord, serviceSpecs, writeReleaseFiles } from '../../src/release/index.js'
import { processRuntime } from '../../src/runtime/process.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'
import { DEMO, DEMO_1_2_UNHEALTHY, PRYV_IO } from './helpers.js'

afterAll(cleanupTempDirs)

const options = (record: ReleaseRecord, backend: 'docker' | 'process', values = demoValues(record)) => ({
  values,
  backend,
  serviceDir: (name: string) => `/var/pryv/services/${name}`,
  releaseDir: '/var/pryv/releases/demo',
  nodeExecutable: '/usr/bin/node'
})

function demoValues(record: ReleaseRecord, platform: Record<string, unknown> = {}) {
  return effectiveSettings(compileRelease(record).schema, { platform: { 'api.sessionSecret': 's', 'platform.name': 'Hospital', ...platform } }).values
}

describe('compileRelease', () => {
  it('adds the node\'s dns group to the schema, orders services by dependency, once per digest', async () => {
    const { record } = await loadRelease(PRYV_IO)
    const compiled = compileRelease(record)
    expect(compiled).toBe(compileRelease({ ...record }))
    expect(compiled.schema.groups.map((g) => g.name)).toContain('dns')
    const order = compiled.services.map((s) => s.name)
    for (const s of compiled.services) for (const dep of s.dependsOn ?? []) expect(order.indexOf(dep)).toBeLessThan(order.indexOf(s.name))
    expect(order).toEqual([
      'admin', 'app-web-auth', 'influxdb', 'mail', 'mongodb',
      'core', 'preview',
      'hfs', 'mfa', 'webhooks',
      'reverse-proxy'
    ])
  })

  it('dependencyOrder names a cycle and ignores unknown services', () => {
    expect(dependencyOrder([{ name: 'b', dependsOn: ['a', 'x'] }, { name: 'a' }, { name: 'c', dependsOn: ['b'] }, { name: 'd' }])).toEqual({ order: ['a', 'd', 'b', 'c'] })
    expect(dependencyOrder([{ name: 'a', dependsOn: ['b'] }, { name: 'b', dependsOn: ['c'] }, { name: 'c', dependsOn: ['a'] }]).cycle).toEqual(['a', 'b', 'c', 'a'])
  })
})

describe('serviceSpecs', () => {
  it('process backend: {node} and {release} substituted, no image, env rendered, conf and data dirs, start order', async () => {
    const { record } = await loadRelease(DEMO)
    const specs = serviceSpecs(record, options(record, 'process'))
    expect(specs.map((s) => s.name)).toEqual(['demo-api', 'demo-web'])
    expect(specs[1]).toEqual({
      name: 'demo-web',
      command: '/usr/bin/node',
      args: ['/var/pryv/releases/demo/files/demo-service.mjs'],
      // The watch API's socket and token file of this service only (src/watch).
      env: { DEMO_TITLE: 'Hospital', PRYV_WATCH_SOCKET: '/var/pryv/services/demo-web/watch/settings.sock', PRYV_WATCH_FILE: '/var/pryv/services/demo-web/watch/access.json' },
      configDir: '/var/pryv/services/demo-web/conf',
      dataDir: '/var/pryv/services/demo-web/data',
      health: { probe: { kind: 'command', command: 'sh', args: ['-c', 'test -s "$PRYV_DATA_DIR/ready"'] }, intervalMs: 500, timeoutMs: 2000, retries: 3, startPeriodMs: 5000 },
      restart: { policy: 'on-failure', maxRetries: 5 },
      stopTimeoutMs: 2000
    })
  })

  it('docker backend: the image, without a process-only command; other commands kept', async () => {
    const { record } = await loadRelease(DEMO)
    const [api] = serviceSpecs(record, options(record, 'docker'))
    expect(api).toMatchObject({ name: 'demo-api', image: 'localhost/pryv-demo:1.0.0', configDir: '/var/pryv/services/demo-api/conf' })
    expect(api!.command).toBeUndefined()
    expect(api!.args).toBeUndefined()
    // A container mounts its watch directory through the release's volumes: no host path in its environment.
    expect(api!.env).toEqual({ DEMO_WATCH: '1', PRYV_WATCH_SOCKET: '/run/pryv-watch/settings.sock' })
    expect(api!.volumes).toEqual([{ source: '/var/pryv/services/demo-api/watch', target: '/run/pryv-watch' }])
    const withCommand = { ...record, digest: 'other', services: record.services.map((s) => ({ ...s, command: '/usr/bin/node', args: ['/app/demo-service.mjs'] })) }
    expect(serviceSpecs(withCommand, options(record, 'docker'))[0]).toMatchObject({ image: 'localhost/pryv-demo:1.0.0', command: '/usr/bin/node', args: ['/app/demo-service.mjs'] })
  })

  it('names every service a backend cannot run', async () => {
    const { record } = await loadRelease(PRYV_IO)
    expect(() => serviceSpecs(record, options(record, 'process', {}))).toThrow(expect.objectContaining({
      code: 'PRYV_RELEASE_BACKEND_UNSUPPORTED',
      exitCode: 7,
      message: 'release pryv-io 1.9.2 cannot run on the process backend: admin, app-web-auth, influxdb, mail, mongodb, core, preview, hfs, mfa, webhooks, reverse-proxy have no command',
      hint: 'run this node with the docker backend, or give every service a command in the release'
    }))
  })

  it('refuses env values that do not render, naming the service and variable', async () => {
    const { record } = await loadRelease(DEMO)
    const values = { ...demoValues(record) }
    delete (values as Record<string, unknown>)['platform.name']
    expect(() => serviceSpecs(record, options(record, 'process', values))).toThrow(expect.objectContaining({
      code: 'PRYV_TEMPLATE_RENDER_FAILED',
      message: expect.stringContaining("demo-web env DEMO_TITLE: unknown setting 'platform.name'")
    }))
  })

  it('pryv-io on docker: every service, each after its dependencies, templates that render with a valid platform', async () => {
    const { record } = await loadRelease(PRYV_IO)
    const { schema } = compileRelease(record)
    const values = effectiveSettings(schema, {
      platform: { 'platform.domain': 'pryv.example.com', ...Object.fromEntries([...schema.settings.values()].filter((s) => s.def.generate).map((s) => [s.key, 'k'.repeat(24)])) },
      machine: { 'machine.publicIp': '203.0.113.7' }
    }).values
    const specs = serviceSpecs(record, options(record, 'docker', values))
    expect(specs).toHaveLength(11)
    expect(specs.find((s) => s.name === 'core')).toMatchObject({ image: 'docker.io/pryvio/core:1.9.2', env: { NUM_PROCS: '4', STARTING_PORT: '3000' } })
    const files = renderServices(record.templates, values)
    expect(files.core!['conf/core.yml']).toContain('domain: pryv.example.com')
    expect(files['reverse-proxy']!['conf/nginx.conf']).toContain('server_name pryv.example.com *.pryv.example.com;')
  })
})

describe('writeReleaseFiles', () => {
  it('writes the files under the directory, atomically, once per digest', async () => {
    const { record } = await loadRelease(DEMO)
    const dir = join(tempDir('pn-files-'), 'releases', 'demo-1.0.0')
    expect(await writeReleaseFiles(record, dir)).toEqual({ written: true })
    expect(readFileSync(join(dir, 'files/demo-service.mjs'), 'utf8')).toBe(record.files['files/demo-service.mjs'])
    expect(JSON.parse(readFileSync(join(dir, RELEASE_MARKER_FILE), 'utf8'))).toEqual({ name: 'demo', version: '1.0.0', digest: record.digest })
    expect(await writeReleaseFiles(record, dir)).toEqual({ written: false })
    // Another release replaces the whole directory; nothing is left beside it.
    writeFileSync(join(dir, 'files/stale.txt'), 'x')
    const other = { ...record, digest: 'd2', files: { 'files/a/b.txt': 'b' } }
    expect(await writeReleaseFiles(other, dir)).toEqual({ written: true })
    expect(readdirSync(join(dir, 'files'))).toEqual(['a'])
    expect(readdirSync(resolve(dir, '..'))).toEqual(['demo-1.0.0'])
  })

  it('refuses paths outside files/', async () => {
    const { record } = await loadRelease(DEMO)
    const dir = tempDir('pn-files-')
    await expect(writeReleaseFiles({ ...record, digest: 'd3', files: { 'files/../../x': 'x' } }, join(dir, 'r'))).rejects.toMatchObject({ code: 'PRYV_RELEASE_INVALID' })
    expect(readdirSync(dir)).toEqual([])
  })
})

describe('the demo releases run', () => {
  it('demo 1.0.0 on the process backend: both services start and become healthy; 1.2.0\'s demo-api never does', async () => {
    const dataDir = tempDir('pn-run-')
    const runtime = processRuntime({ dataDir, baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' } })
    try {
      for (const [path, healthy] of [[DEMO, true], [DEMO_1_2_UNHEALTHY, false]] as const) {
        const { record } = await loadRelease(path)
        const releaseDir = join(dataDir, 'releases', record.digest)
        await writeReleaseFiles(record, releaseDir)
        const values = effectiveSettings(compileRelease(record).schema, { platform: { 'api.sessionSecret': 's' } }).values
        const files = renderServices(record.templates, values)
        const specs = serviceSpecs(record, { values, backend: 'process', serviceDir: (s) => join(dataDir, 'services', s), releaseDir, nodeExecutable: process.execPath })
        for (const spec of specs) {
          for (const [file, content] of Object.entries(files[spec.name] ?? {})) {
            mkdirSync(resolve(spec.configDir!, '..', file, '..'), { recursive: true })
            writeFileSync(resolve(spec.configDir!, '..', file), content)
          }
          await runtime.ensure(spec)
          await runtime.start(spec.name)
        }
        const api = runtime.waitHealthy('demo-api', AbortSignal.timeout(10_000))
        if (healthy) {
          await api
          await runtime.waitHealthy('demo-web', AbortSignal.timeout(10_000))
          expect(readFileSync(join(dataDir, 'services/demo-web/data/ready'), 'utf8')).toMatch(/^\d+ [0-9a-f]{12}\n$/)
        } else {
          await expect(api).rejects.toMatchObject({ code: 'PRYV_RUNTIME_UNHEALTHY' })
        }
      }
    } finally {
      await runtime.close({ timeoutMs: 2000 })
    }
  })
})

describe('builtinReleasePath', () => {
  it('resolves the shipped releases from the package root', () => {
    expect(builtinReleasePath('demo')).toBe(resolve(import.meta.dirname, '../../releases/demo'))
    expect(builtinReleasePath('pryv-io')).toBe(resolve(import.meta.dirname, '../../releases/pryv-io'))
  })
})
