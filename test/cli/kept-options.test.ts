import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

/** Waits until the node has rendered once and returns how it runs its services. */
async function servicesMode(dataDir: string): Promise<string> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const r = await runCli(['--data-dir', dataDir, 'status', '--json'])
    const settings = r.code === 0 ? (JSON.parse(r.stdout) as { settings: { services: string } | null }).settings : null
    if (settings) return settings.services
    if (Date.now() > deadline) throw new Error(`no render report: ${r.stdout}${r.stderr}`)
    await new Promise((res) => setTimeout(res, 200))
  }
}

describe('options kept in the data dir', () => {
  let node: NodeProcess | undefined
  afterEach(async () => { await node?.stop() })
  afterAll(cleanupTempDirs)

  it('start reuses the options of init-platform; an option given again replaces the kept one and is reported', async () => {
    const dataDir = tempDir()
    node = NodeProcess.start(dataDir, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.61.5:0', '--dns', 'none', '--services', 'process', '--metrics', '127.0.61.5:0', '--admin', '127.0.61.5:0', '--register', '127.0.61.5:0'])
    expect((await node.ready()).metrics).toMatch(/^127\.0\.61\.5:\d+$/)
    expect(await servicesMode(dataDir)).toBe('process')
    expect(await node.stop()).toBe(0)
    expect(JSON.parse(readFileSync(join(dataDir, 'options.json'), 'utf8'))).toMatchObject({ services: 'process', metrics: '127.0.61.5:0', dns: [] })

    // After a reboot: a plain start runs the node as before (admin app and register API included).
    node = NodeProcess.start(dataDir, ['start'])
    const restarted = await node.ready()
    expect(restarted.metrics).toMatch(/^127\.0\.61\.5:\d+$/)
    expect(restarted.admin).toMatch(/^http:\/\/127\.0\.61\.5:\d+/)
    expect(restarted.register).toMatch(/^127\.0\.61\.5:\d+$/)
    expect(await servicesMode(dataDir)).toBe('process')
    expect(node.stderr).toContain('note: kept options: --services process')
    expect(await node.stop()).toBe(0)

    // Given again: replaces the kept value, says so, and is kept for the next start.
    node = NodeProcess.start(dataDir, ['start', '--metrics', '127.0.61.6:0'])
    expect((await node.ready()).metrics).toMatch(/^127\.0\.61\.6:\d+$/)
    expect(node.stderr).toContain('note: --metrics 127.0.61.6:0 replaces 127.0.61.5:0; kept for the next start.')
    expect(await node.stop(), node.stderr).toBe(0)
    node = NodeProcess.start(dataDir, ['start'])
    expect((await node.ready()).metrics).toMatch(/^127\.0\.61\.6:\d+$/)
    expect(await servicesMode(dataDir)).toBe('process')
  })

  it('nothing is kept when the node fails to start with the options given', async () => {
    const dataDir = tempDir()
    const r = await runCli(['--data-dir', dataDir, 'init-platform', '--domain', 'pryv.test', '--listen', '127.0.61.7:0', '--dns', 'none', '--release', '/nonexistent/bundle'])
    expect(r.code).toBe(3)
    expect(existsSync(join(dataDir, 'options.json'))).toBe(false)
  })
})
