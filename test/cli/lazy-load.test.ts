import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'

const TRACE_HOOK = resolve(import.meta.dirname, '../support/module-trace.mjs')
// What only a daemon needs: the mesh, the database, the engine client, the logger.
const DAEMON_ONLY = /node_modules\/(libp2p|@libp2p\/|level|classic-level|dockerode|pino|dns2)/

/** Runs the CLI with the module trace on; returns its exit code, stdout and the modules it loaded. */
function traced(dataDir: string, args: string[]): Promise<{ code: number, stdout: string, modules: string[] }> {
  const trace = join(tempDir('pn-trace-'), 'modules.txt')
  return new Promise((done) => {
    execFile(process.execPath, ['--import', TRACE_HOOK, BIN, '--data-dir', dataDir, ...args], { env: { ...process.env, PRYV_TEST_MODULE_TRACE: trace } }, (err, stdout) => {
      const modules = readFileSync(trace, 'utf8').split('\n').filter((l) => l !== '')
      done({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, modules })
    })
  })
}

describe('a CLI command that only talks to the control socket', () => {
  let node: NodeProcess
  let dataDir: string

  beforeAll(async () => {
    dataDir = tempDir()
    node = NodeProcess.start(dataDir, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.61.1:0', '--dns', 'none'])
    await node.ready()
  })

  afterAll(async () => {
    await node?.stop()
    cleanupTempDirs()
  })

  it.each([
    [['status', '--json']],
    [['config', 'get', '--json']],
    [['dns', 'users', 'get', '--json']],
    [['--version']],
    [['--help']]
  ])('%j answers without loading libp2p, LevelDB or dockerode', async (args) => {
    const r = await traced(dataDir, args)
    expect(r.code).toBe(0)
    expect(r.stdout.length).toBeGreaterThan(0)
    // The trace works: it saw the CLI itself.
    expect(r.modules.some((m) => m.endsWith('/dist/cli/main.js'))).toBe(true)
    expect(r.modules.filter((m) => DAEMON_ONLY.test(m))).toEqual([])
  })

  it('a daemon command does load libp2p (the trace sees it)', async () => {
    const r = await traced(tempDir(), ['start', '--dns', 'none'])
    expect(r.code).not.toBe(0) // not initialised
    expect(r.modules.some((m) => /node_modules\/libp2p\//.test(m))).toBe(true)
  })
})

describe('an idle node serving DNS, its admin app and the watch API', () => {
  // What only a request needs: hono's router and its Node adapter (the pages' `html` helper is light),
  // and undici (web Request/Response), which an ES import of node:http also loads on Node 24.
  const REQUEST_ONLY = /node_modules\/(hono\/dist\/hono-base\.js|@hono\/node-server\/)/
  let node: NodeProcess
  let trace: string

  beforeAll(async () => {
    trace = join(tempDir('pn-trace-'), 'modules.txt')
    node = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.61.2:0', '--dns', '127.0.61.2:0', '--admin', '127.0.61.2:0'], {
      NODE_OPTIONS: `--import ${TRACE_HOOK}`,
      PRYV_TEST_MODULE_TRACE: trace
    })
    await node.ready()
  })

  afterAll(async () => {
    await node?.stop()
    cleanupTempDirs()
  })

  const modules = (): string[] => readFileSync(trace, 'utf8').split('\n').filter((l) => l !== '')
  const builtins = (): string[] => readFileSync(`${trace}.builtins`, 'utf8').split('\n').filter((l) => l !== '')

  it('binds its servers at start but loads hono and undici only when a request arrives', async () => {
    const admin = (await node.ready()).admin as string
    // The trace works: it saw the daemon, and sees the node's own builtins.
    expect(modules().some((m) => m.endsWith('/dist/node/platform-node.js'))).toBe(true)
    // The list is rewritten every half second: wait for one written since the node bound its servers.
    for (const deadline = Date.now() + 10_000; !builtins().includes('NativeModule net');) {
      if (Date.now() > deadline) throw new Error('the trace never listed node:net')
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(modules().filter((m) => REQUEST_ONLY.test(m))).toEqual([])
    expect(builtins().filter((m) => /undici/.test(m))).toEqual([])

    const res = await fetch(`${admin}/healthz`)
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('ok\n')
    // The same trace sees them once a request needed them.
    expect(modules().some((m) => REQUEST_ONLY.test(m))).toBe(true)
  })
})
