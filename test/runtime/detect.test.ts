import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { detectRuntime } from '../../src/runtime/index.js'

const dataDir = mkdtempSync(join(tmpdir(), 'pryv-runtime-detect-'))
const base = { platformId: 'acme', nodeId: 'n1', dataDir, socketPath: join(dataDir, 'no-engine.sock') }

afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe('detectRuntime', () => {
  it('falls back to processes when no engine answers', async () => {
    const runtime = await detectRuntime(base)
    expect(runtime.kind).toBe('process')
    await runtime.close()
  })

  it('fails with PRYV_RUNTIME_ENGINE_DOWN when docker is required', async () => {
    await expect(detectRuntime({ ...base, runtime: 'docker' })).rejects.toMatchObject({
      name: 'EngineDownError',
      code: 'PRYV_RUNTIME_ENGINE_DOWN',
      hint: expect.stringContaining('systemctl start docker')
    })
  })

  it('uses processes when told to', async () => {
    const runtime = await detectRuntime({ ...base, runtime: 'process' })
    expect(runtime.capabilities).toEqual({ pull: false, isolation: false, portMapping: false, adoptsAfterRestart: false })
    await runtime.close()
  })
})
