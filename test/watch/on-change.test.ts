import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { copyBundle, editYaml, problemsOf } from '../release/helpers.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

interface Report { settingsRevision: number, written: string[], restart: string[], signalled?: string[], restarted: string[], failures: unknown[] }

describe('a release says what a change of a service\'s files does (onChange)', () => {
  const nodes: NodeProcess[] = []
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    cleanupTempDirs()
  })

  it('refuses an unknown onChange, an unknown signal, and a signal without onChange: signal', async () => {
    const dir = copyBundle()
    editYaml(dir, 'release.yaml', (m) => {
      m.services['demo-api'].onChange = 'reload'
      m.services['demo-web'].signal = 'SIGHUP'
    })
    const problems = await problemsOf(dir)
    expect(problems).toEqual(expect.arrayContaining([
      expect.objectContaining({ field: 'services.demo-api.onChange', message: expect.stringContaining('must be one of restart, signal, none') }),
      expect.objectContaining({ field: 'services.demo-web.signal', message: 'is only used with onChange: signal' })
    ]))
    editYaml(dir, 'release.yaml', (m) => {
      delete m.services['demo-api'].onChange
      m.services['demo-web'].onChange = 'signal'
      m.services['demo-web'].signal = 'SIGKILL'
    })
    expect(await problemsOf(dir)).toEqual([expect.objectContaining({ field: 'services.demo-web.signal', message: expect.stringContaining('must be one of SIGHUP') })])
  })

  it('onChange: signal rewrites the files and sends the signal: the same process reloads them', async () => {
    const node = NodeProcess.start(join(tempDir('pw-'), 'n'), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.0.1:0', '--dns', 'none', '--services', 'process'])
    nodes.push(node)
    await node.ready()
    const cli = (args: string[]) => runCli(['--data-dir', node.dataDir, ...args], { timeoutMs: 120_000 })
    const bundle = copyBundle()
    editYaml(bundle, 'release.yaml', (m) => {
      m.version = '1.0.1'
      m.services['demo-web'].onChange = 'signal'
      m.services['demo-web'].signal = 'SIGHUP'
    })
    mkdirSync(join(bundle, 'migrations'), { recursive: true })
    writeFileSync(join(bundle, 'migrations', '1.0.0-to-1.0.1.yaml'), 'from: 1.0.0\nto: 1.0.1\nsteps: []\n')
    const applied = await cli(['release', 'apply', bundle, '--wait', '--json'])
    expect(applied.code, applied.stderr).toBe(0)

    const dir = join(node.dataDir, 'services', 'demo-web')
    const ready = (): { pid: string, conf: string } => {
      const [pid, conf] = readFileSync(join(dir, 'data', 'ready'), 'utf8').trim().split(' ')
      return { pid: pid!, conf: conf! }
    }
    const output = (): string => readFileSync(join(dir, 'log', 'output.log'), 'utf8')
    const before = ready()
    const startsBefore = output().match(/started pid=/g)!.length
    // Not platform.name: demo-web's environment uses it, and a new environment recreates the service whatever onChange says.
    const set = await cli(['config', 'set', 'api.port=3100', '--json'])
    expect(set.code, set.stderr).toBe(0)
    const revision = JSON.parse(set.stdout).revision as number
    const deadline = Date.now() + 30_000
    let report: Report | null = null
    while (!report || report.settingsRevision < revision) {
      if (Date.now() > deadline) throw new Error(`revision ${revision} not rendered: ${JSON.stringify(report)}`)
      await new Promise((r) => setTimeout(r, 100))
      report = ((await callControl(join(node.dataDir, 'control.sock'), 'status', {})) as { settings: Report | null }).settings
    }
    expect(report).toMatchObject({ restart: [], signalled: ['demo-web'], restarted: [], failures: [] })
    expect(readFileSync(join(dir, 'conf', 'web.yml'), 'utf8')).toContain('3100')
    // The same process read its new files on SIGHUP (their hash differs from the one it started with).
    await expect.poll(() => /reloaded pid=(\d+) conf=(\w+)/.exec(output())?.slice(1), { timeout: 10_000 }).toEqual([before.pid, expect.not.stringMatching(before.conf)])
    expect(output().match(/started pid=/g)!.length).toBe(startsBefore)
  })
})
