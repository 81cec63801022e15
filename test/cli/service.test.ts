import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

const analyze = spawnSync('systemd-analyze', ['--version']).status === 0

describe('pryv-node service', () => {
  let dataDir: string

  beforeAll(async () => {
    dataDir = tempDir()
    const node = NodeProcess.start(dataDir, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.61.13:0', '--dns', '127.0.61.13:53'])
    await node.ready()
    await node.stop()
  })
  afterAll(cleanupTempDirs)

  it('install --dry-run prints a unit that runs start on the data dir, restarts on failure, writes nothing', async () => {
    const unitDir = tempDir()
    const r = await runCli(['--data-dir', dataDir, 'service', 'install', '--dry-run', '--unit-dir', unitDir, '--user', 'nobody'])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`# ${join(unitDir, 'pryv-node.service')} (dry run: nothing written)`)
    expect(r.stdout).toContain(`ExecStart=${process.execPath} ${BIN} --data-dir ${dataDir} start`)
    expect(r.stdout).toContain('Restart=on-failure')
    expect(r.stdout).toContain('User=nobody')
    expect(r.stdout).toContain(`ReadWritePaths=${dataDir}`)
    expect(r.stdout).toContain('PrivateTmp=no') // the data dir is under /tmp
    // DNS on port 53 as a user other than root.
    expect(r.stdout).toContain('AmbientCapabilities=CAP_NET_BIND_SERVICE')
    expect(existsSync(join(unitDir, 'pryv-node.service'))).toBe(false)
  })

  it.skipIf(!analyze)('install writes a unit that systemd-analyze verify accepts; uninstall removes it', async () => {
    const unitDir = tempDir()
    const r = await runCli(['--data-dir', dataDir, 'service', 'install', '--unit-dir', unitDir])
    expect(r.code, r.stderr).toBe(0)
    const unit = join(unitDir, 'pryv-node.service')
    expect(readFileSync(unit, 'utf8')).toContain('[Install]\nWantedBy=multi-user.target')
    // Throws, with systemd's complaints, on any problem in the unit.
    const verify = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' })
    expect(verify.status, verify.stderr).toBe(0)
    expect(verify.stderr.trim(), 'systemd-analyze verify warnings').toBe('')
    const dry = await runCli(['service', 'uninstall', '--dry-run', '--unit-dir', unitDir])
    expect(dry.stdout).toContain('dry run: nothing done')
    expect(existsSync(unit)).toBe(true)
    const gone = await runCli(['service', 'uninstall', '--unit-dir', unitDir])
    expect(gone.code).toBe(0)
    expect(existsSync(unit)).toBe(false)
  })

  it('a data dir without a node: exit 4 with what to do; a unit dir that cannot be written: exit 7', async () => {
    const empty = await runCli(['--data-dir', tempDir(), 'service', 'install', '--dry-run'])
    expect(empty.code).toBe(4)
    expect(empty.stderr).toContain('error PRYV_NOT_INITIALISED')
    const file = join(tempDir(), 'a-file')
    execFileSync('touch', [file])
    const blocked = await runCli(['--data-dir', dataDir, 'service', 'install', '--unit-dir', join(file, 'sub')])
    expect(blocked.code).toBe(7)
    expect(blocked.stderr).toContain('error PRYV_SERVICE_NOT_WRITABLE')
  })
})
