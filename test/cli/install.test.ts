import { execFile, spawn } from 'node:child_process'
import { readdirSync, symlinkSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'

const run = promisify(execFile)
const REPO = resolve(import.meta.dirname, '../..')

describe('installing pryv-node on PATH (the README\'s step)', () => {
  let node: NodeProcess | undefined
  afterAll(async () => {
    await node?.stop()
    cleanupTempDirs()
  })

  it('in a fresh clone: build, pack, npm install -g; then the walkthrough\'s first commands run by name', { timeout: 300_000 }, async () => {
    const clone = join(tempDir('pn-clone-'), 'pryv-node')
    await run('git', ['clone', '--quiet', REPO, clone])
    // `npm ci` in the README: the checkout's own dependencies stand in for it (no download in a test).
    symlinkSync(join(REPO, 'node_modules'), join(clone, 'node_modules'))
    await run('npm', ['run', 'build', '--silent'], { cwd: clone })
    await run('npm', ['pack', '--silent'], { cwd: clone })
    const tarball = readdirSync(clone).find((f) => /^pryv-node-.*\.tgz$/.test(f))
    expect(tarball).toBeDefined()
    // A global prefix of its own, in place of /usr/local.
    const prefix = tempDir('pn-global-')
    const env = { ...process.env, npm_config_prefix: prefix, PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, PRYV_LOG_LEVEL: 'warn' }
    await run('npm', ['install', '-g', '--prefer-offline', '--no-audit', '--no-fund', `./${tarball}`], { cwd: clone, env })

    // From here on: `pryv-node`, found on PATH, from a directory that is not the checkout.
    const cwd = tempDir()
    const version = await run('pryv-node', ['--version'], { cwd, env })
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/)
    const dataDir = join(cwd, 'data')
    node = NodeProcess.adopt(spawn('pryv-node', ['--data-dir', dataDir, 'init-platform', '--domain', 'pryv.example.com', '--name', 'core1', '--listen', '127.0.61.12:0', '--dns', 'none', '--json'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }), dataDir)
    expect((await node.ready()).invite).toMatch(/^pryv2\./)
    const status = await run('pryv-node', ['--data-dir', dataDir, 'status', '--json'], { cwd, env })
    expect(JSON.parse(status.stdout)).toMatchObject({ platform: { domain: 'pryv.example.com' }, self: { name: 'core1' } })
    expect(await node.stop()).toBe(0)
  })
})
