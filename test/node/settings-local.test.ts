import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { platformRelease } from '../../src/release/platform.js'
import { checkLocalLayers, initialPlatformValues, localLayers, readBaseSettings } from '../../src/node/settings-local.js'
import { builtinReleasePath, loadRelease } from '../../src/release/index.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'

const demo = platformRelease((await loadRelease(builtinReleasePath('demo'))).record)

afterAll(cleanupTempDirs)

describe('the local settings layers of a node', () => {
  it('reads PRYV_<GROUP>_<NAME> and --set, and leaves the node\'s own variables alone', () => {
    const env = { PRYV_NODE_DATA_DIR: '/x', PRYV_LOG_LEVEL: 'warn', PRYV_TEST_LOG_LEVEL: 'debug', PRYV_API_LOG_LEVEL: 'debug', HOME: '/root' }
    const layers = localLayers({ env, setArgs: ['api.port=4000'] }, demo.schema)
    expect(layers).toEqual({ env: { 'api.logLevel': 'debug' }, cli: { 'api.port': 4000 }, warnings: [], problems: [] })
  })

  it('refuses platform-wide keys and bad values, listing every problem; warns about near-miss variables', () => {
    expect(() => checkLocalLayers({ env: { PRYV_PLATFORM_NAME: 'x' }, setArgs: ['api.port=http', 'nope'] }, demo.schema)).toThrow(/3 settings problems[\s\S]*platform-wide[\s\S]*integer[\s\S]*group.name=value/)
    expect(localLayers({ env: { PRYV_API_LOG_LEVL: 'debug' }, setArgs: [] }, demo.schema).warnings[0]).toMatch(/did you mean 'PRYV_API_LOG_LEVEL'/)
  })
})

describe('init-platform --settings', () => {
  it('reports YAML and schema problems with file:line:col', async () => {
    const dir = tempDir()
    const file = join(dir, 'base.yml')
    writeFileSync(file, 'api:\n  port: [1\n')
    await expect(readBaseSettings(file, demo)).rejects.toThrow(new RegExp(`${file}:\\d+:\\d+: invalid YAML`))
    writeFileSync(file, 'api:\n  port: 70000\nplatform:\n  nmae: x\n')
    await expect(readBaseSettings(file, demo)).rejects.toThrow(/base.yml:2:9: 'api.port' must be between 1 and 65535[\s\S]*base.yml:4:3: unknown setting 'platform.nmae'/)
    await expect(readBaseSettings(join(dir, 'missing.yml'), demo)).rejects.toMatchObject({ code: 'PRYV_SETTINGS_FILE_UNREADABLE', exitCode: 3 })
  })

  it('keeps the file\'s values and generates the missing secrets with a CSPRNG', async () => {
    const dir = tempDir()
    const file = join(dir, 'base.yml')
    writeFileSync(file, 'platform:\n  name: Hospital demo\n')
    const base = await readBaseSettings(file, demo)
    expect(base).toEqual({ 'platform.name': 'Hospital demo' })
    const a = initialPlatformValues(base, demo.schema)
    const b = initialPlatformValues(base, demo.schema)
    expect(a.generated).toEqual(['api.sessionSecret'])
    expect(a.values['api.sessionSecret']).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(a.values['api.sessionSecret']).not.toBe(b.values['api.sessionSecret'])
  })
})

describe('init-platform on another release', () => {
  it('checks the base values against the release before anything is created; the domain comes from --domain', async () => {
    const pryvIo = platformRelease((await loadRelease(builtinReleasePath('pryv-io'))).record)
    await expect(readBaseSettings(undefined, pryvIo)).rejects.toMatchObject({ code: 'PRYV_SETTINGS_INVALID', message: expect.stringMatching(/'platform.domain' is required/) })
    expect(await readBaseSettings(undefined, pryvIo, { 'platform.domain': 'pryv.example.com' })).toEqual({ 'platform.domain': 'pryv.example.com' })
  })
})
