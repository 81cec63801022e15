import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe } from 'vitest'
import { processRuntime } from '../../src/runtime/index.js'
import { runtimeContract } from './contract.js'

const dataDir = mkdtempSync(join(tmpdir(), 'pryv-runtime-process-'))

describe('process runtime', () => {
  runtimeContract({
    kind: 'process',
    runtime: () =>
      processRuntime({
        dataDir,
        baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        backoff: { initialMs: 50, maxMs: 1_000 }
      }),
    shell: (script) => ({ command: '/bin/sh', args: ['-c', script] }),
    node: (script) => ({ command: process.execPath, args: ['-e', script] }),
    teardown: async () => rmSync(dataDir, { recursive: true, force: true })
  })
})
