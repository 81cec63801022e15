import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join, resolve } from 'node:path'
import type { Browser } from 'playwright-core'
import * as tar from 'tar'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_1_1, DEMO_1_2_UNHEALTHY } from '../release/helpers.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'

// Debian's chromium (`.ci/run` installs it), driven by the pinned playwright-core: Playwright cannot
// download its own browsers here.
const CHROMIUM = process.env.PRYV_CHROMIUM ?? '/usr/bin/chromium'
const hasChromium = existsSync(CHROMIUM)
if (!hasChromium) console.warn(`skipping the admin app's browser tests: ${CHROMIUM} is missing (apt-get install chromium)`)
const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts/admin')
const ARGS = ['--listen', '127.0.0.1:0', '--dns', 'none', '--admin', '127.0.0.1:0']
const PASSWORD = 'correct horse battery staple'

/** The Chromium major version the pinned playwright-core was built and tested with. */
function expectedChromiumMajor(): number {
  const require = createRequire(import.meta.url)
  const browsers = JSON.parse(readFileSync(join(require.resolve('playwright-core/package.json'), '../browsers.json'), 'utf8')) as { browsers: { name: string, browserVersion: string }[] }
  return Number(browsers.browsers.find((b) => b.name === 'chromium')!.browserVersion.split('.')[0])
}

async function cli(dataDir: string, args: string[]): Promise<any> {
  const r = await runCli(['--data-dir', dataDir, ...args])
  if (r.code !== 0) throw new Error(`${args.join(' ')} failed (${r.code}): ${r.stderr}`)
  return args.includes('--json') ? JSON.parse(r.stdout) : r.stdout
}

describe.skipIf(!hasChromium)('the admin app in a real Chromium, on a 3-node platform', { timeout: 120_000 }, () => {
  const nodes: NodeProcess[] = []
  const urls: string[] = []
  let browser: Browser

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...ARGS])
    nodes.push(founder)
    urls.push((await founder.ready()).admin as string)
    for (const name of ['core2', 'core3']) {
      const invite = (await cli(founder.dataDir, ['invite', 'create', '--json'])).invite
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', name, ...ARGS])
      nodes.push(node)
      urls.push((await node.ready()).admin as string)
    }
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('runs the Chromium major version the pinned playwright-core expects', () => {
    const expected = expectedChromiumMajor()
    const actual = Number(browser.version().split('.')[0])
    expect(actual, `Debian's chromium is ${browser.version()} but playwright-core expects Chromium ${expected}: pin the playwright-core release whose Chromium matches (see /work/shared/reference/admin-ui.md) or install the matching chromium`).toBe(expected)
  })

  it('logs in with the one-time link, sets a password, and shows every member on the overview', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
    const link = await cli(nodes[0]!.dataDir, ['admin', 'login-link', '--json'])
    // The link works on any node: open it on core2's server.
    await page.goto(link.url.replace(urls[0]!, urls[1]!))
    await page.getByRole('button', { name: 'Log in with this link' }).click()
    await expect.poll(() => page.url()).toMatch(/\/password$/)
    await page.getByLabel('New password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => new URL(page.url()).pathname).toBe('/')
    expect(await page.locator('tbody tr').allTextContents()).toHaveLength(3)
    // Server-rendered: reloaded until every member has applied the last revision.
    await expect.poll(async () => {
      await page.reload()
      return page.locator('.summary').textContent()
    }, { timeout: 15_000, interval: 500 }).toMatch(/rev \d+ on 3\/3/)
    await page.screenshot({ path: join(ARTIFACTS, 'overview.png'), fullPage: true })
    expect(errors).toEqual([])
    await page.close()
  })

  it('dry-runs then applies a platform setting, which every node converges on, and shows who did it', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${urls[2]}/login`)
    await page.getByLabel('Account').fill('admin')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('link', { name: 'Settings' }).click()
    await page.getByLabel('Setting').selectOption('platform.name')
    await page.getByLabel('Value').fill('Hospital <b>demo</b>')
    await page.getByLabel('Message').fill('rename from the app')
    await page.getByRole('button', { name: 'Dry run' }).click()
    const dry = page.getByRole('region', { name: /Dry run/ })
    await expect.poll(async () => (await dry.locator('tbody tr').allTextContents()).map((r) => r.split('demo-web')[0]!.trim()).sort()).toEqual(['core1', 'core2', 'core3'])
    await page.screenshot({ path: join(ARTIFACTS, 'settings-dry-run.png'), fullPage: true })
    expect((await cli(nodes[0]!.dataDir, ['config', 'get', 'platform.name', '--json'])).values?.['platform.name']).not.toBe('Hospital <b>demo</b>')
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(async () => page.getByRole('status').textContent()).toMatch(/Applied as revision \d+/)
    for (const node of nodes) {
      await expect.poll(async () => JSON.stringify(await cli(node.dataDir, ['config', 'get', '--json'])), { timeout: 15_000 }).toContain('Hospital <b>demo</b>')
    }
    // The value is shown as text, in the table and the history, with its author.
    expect(await page.locator('td', { hasText: 'Hospital <b>demo</b>' }).count()).toBeGreaterThan(0)
    expect(await page.locator('td b').count()).toBe(0)
    expect(await page.locator('td', { hasText: 'admin:admin@core3' }).count()).toBe(1)
    await page.screenshot({ path: join(ARTIFACTS, 'settings.png'), fullPage: true })
    await page.getByRole('link', { name: 'Audit' }).click()
    await expect.poll(async () => page.locator('tbody tr').first().textContent()).toContain('admin:admin')
    await page.screenshot({ path: join(ARTIFACTS, 'audit.png'), fullPage: true })
    await context.close()
  })

  it('shows a refused change with the CLI\'s error, and changes nothing', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${urls[0]}/login`)
    await page.getByLabel('Account').fill('admin')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.goto(`${urls[0]}/settings`)
    const before = await cli(nodes[0]!.dataDir, ['config', 'get', '--json'])
    await page.getByLabel('Setting').selectOption('platform.name')
    await page.getByLabel('Value').fill('x'.repeat(200))
    await page.getByRole('button', { name: 'Apply' }).click()
    await expect.poll(async () => page.getByRole('alert').textContent()).toMatch(/PRYV_SETTINGS_INVALID/)
    expect(await cli(nodes[0]!.dataDir, ['config', 'get', '--json'])).toEqual(before)
    await context.close()
  })

  it('creates an invite with a copy button, joins a node with it from the CLI, and drains that node', async () => {
    const context = await browser.newContext()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: urls[1] })
    const page = await context.newPage()
    await page.goto(`${urls[1]}/login`)
    await page.getByLabel('Account').fill('admin')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.getByRole('link', { name: 'Members' }).click()
    await page.getByLabel('New member\'s role').selectOption('observer')
    await page.getByRole('button', { name: 'Create invite' }).click()
    const invite = await page.getByLabel('Invite', { exact: true }).inputValue()
    expect(invite).toMatch(/^pryv2\./)
    await page.getByRole('button', { name: 'Copy' }).click()
    await expect.poll(() => page.getByRole('button', { name: 'Copied' }).count()).toBe(1)
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(invite)
    await page.screenshot({ path: join(ARTIFACTS, 'members-invite.png'), fullPage: true })

    // The overview, open in another tab, shows the new member without being reloaded.
    const overview = await context.newPage()
    await overview.goto(`${urls[1]}/`)
    expect(await overview.getByRole('row', { name: /obs1/ }).count()).toBe(0)
    const joiner = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', 'obs1', ...ARGS])
    nodes.push(joiner)
    await joiner.ready()
    await expect.poll(() => overview.getByRole('row', { name: /obs1 observer no up/ }).count(), { timeout: 15_000 }).toBe(1)
    await overview.screenshot({ path: join(ARTIFACTS, 'overview-live.png'), fullPage: true })
    await expect.poll(async () => {
      await page.goto(`${urls[1]}/members`)
      return page.getByRole('row', { name: /obs1 observer no up/ }).count()
    }, { timeout: 15_000, interval: 500 }).toBe(1)

    await page.getByRole('button', { name: 'Drain obs1' }).click()
    await expect.poll(async () => page.getByRole('status').textContent()).toContain('obs1 drained')
    expect(await page.getByRole('row', { name: /obs1/ }).textContent()).toContain('0 (drained)')
    for (const node of [nodes[0]!, joiner]) {
      await expect.poll(async () => (await cli(node.dataDir, ['config', 'get', '--machine', 'obs1', '--effective', '--json'])).values['dns.weight'], { timeout: 15_000 }).toBe(0)
    }
    await page.getByRole('button', { name: 'Restore obs1' }).click()
    await expect.poll(async () => (await cli(joiner.dataDir, ['config', 'get', '--machine', 'obs1', '--effective', '--json'])).values['dns.weight'], { timeout: 15_000 }).toBe(1)
    await context.close()
  })

  /** A new browser context logged in as the owner on `url`. */
  const ownerPage = async (url: string) => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${url}/login`)
    await page.getByLabel('Account').fill('admin')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await expect.poll(() => new URL(page.url()).pathname).toBe('/')
    return { context, page }
  }

  it('explains a setting layer by layer, compares two revisions, and rolls the platform back from the history', async () => {
    const { context, page } = await ownerPage(urls[1]!)
    await cli(nodes[0]!.dataDir, ['config', 'set', '--machine', 'core2', 'api.logLevel=debug', '-m', 'debugging core2'])
    await page.goto(`${urls[1]}/settings`)
    await page.getByLabel('Explain').selectOption('api.logLevel')
    await page.getByLabel('On node').selectOption('core2')
    await page.getByRole('button', { name: 'Explain' }).click()
    const explained = page.getByRole('region', { name: /api\.logLevel on core2/ })
    await expect.poll(() => explained.getByRole('heading').textContent()).toBe('api.logLevel on core2: debug (from the machine layer)')
    expect(await explained.getByRole('row', { name: /^machine debug wins$/ }).count()).toBe(1)
    await page.getByLabel('Explain').selectOption('platform.name')
    await page.getByRole('button', { name: 'Explain' }).click()
    await expect.poll(() => page.getByRole('region', { name: /platform\.name on core2/ }).getByRole('heading').textContent()).toBe('platform.name on core2: Hospital <b>demo</b> (from the platform layer)')
    expect(await page.locator('main b').count()).toBe(0)
    await page.screenshot({ path: join(ARTIFACTS, 'settings-explain.png'), fullPage: true })

    // The platform's renaming from the app (an earlier test), then a second one from the CLI.
    const renamed = (await cli(nodes[0]!.dataDir, ['config', 'history', '--json'])).records.findLast((r: { target: string }) => r.target === 'platform').revision as number
    await cli(nodes[2]!.dataDir, ['config', 'set', 'platform.name=Second name', '-m', 'second'])
    const second = (await cli(nodes[0]!.dataDir, ['config', 'history', '--json'])).records.at(-1).revision as number
    await page.goto(`${urls[1]}/settings`)
    await page.getByLabel('From revision').fill(String(renamed))
    await page.getByLabel('To revision').fill(String(second))
    await page.getByRole('button', { name: 'Compare' }).click()
    const compared = page.getByRole('region', { name: `platform: revision ${renamed} → ${second}` })
    expect(await compared.getByRole('row', { name: 'platform.name Hospital <b>demo</b> Second name' }).count()).toBe(1)
    await page.screenshot({ path: join(ARTIFACTS, 'settings-diff.png'), fullPage: true })

    await page.getByRole('button', { name: `Roll back the platform to revision ${renamed}` }).click()
    await expect.poll(async () => page.getByRole('status').textContent()).toMatch(/Applied as revision \d+/)
    for (const node of nodes) {
      await expect.poll(async () => (await cli(node.dataDir, ['config', 'get', 'platform.name', '--json'])).values['platform.name'], { timeout: 15_000 }).toBe('Hospital <b>demo</b>')
    }
    const last = (await cli(nodes[2]!.dataDir, ['config', 'history', '--json'])).records.at(-1)
    expect(last).toMatchObject({ actor: 'admin:admin', author: 'core2', message: `rollback to revision ${renamed}` })
    // A revision that is not one is refused with the operation's error, changing nothing.
    await page.goto(`${urls[1]}/settings?from=-3`)
    expect(await page.getByRole('alert').textContent()).toContain('PRYV_USAGE')
    await cli(nodes[0]!.dataDir, ['config', 'unset', '--machine', 'core2', 'api.logLevel'])
    await context.close()
  })

  it('looks up, sets and removes DNS users, which every node then serves, and shows names as text', async () => {
    const { context, page } = await ownerPage(urls[2]!)
    await page.getByRole('link', { name: 'DNS' }).click()
    await page.getByLabel('User', { exact: true }).fill('alice-demo')
    await page.getByLabel('Core').selectOption('core2')
    await page.getByRole('button', { name: 'Set user' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toBe('alice-demo now points at core2.')
    expect(await page.getByRole('row', { name: 'alice-demo core2' }).count()).toBe(1)
    for (const node of nodes) {
      await expect.poll(async () => (await cli(node.dataDir, ['dns', 'users', 'get', '--json'])).users['alice-demo'], { timeout: 15_000 }).toBe('core2')
    }
    await cli(nodes[0]!.dataDir, ['dns', 'users', 'set', 'bob-demo=core3'])
    await page.getByLabel('Look up user').fill('bob-demo')
    await page.getByRole('button', { name: 'Look up' }).click()
    await expect.poll(() => page.locator('.lookup').textContent(), { timeout: 15_000 }).toBe('bob-demo is served by core3.')
    await page.screenshot({ path: join(ARTIFACTS, 'dns.png'), fullPage: true })
    await page.getByLabel('Look up user').fill('<b>nobody</b>')
    await page.getByRole('button', { name: 'Look up' }).click()
    await expect.poll(() => page.locator('.lookup').textContent()).toBe('<b>nobody</b> is not a DNS user.')
    expect(await page.locator('main b').count()).toBe(0)
    // Refused as by the CLI: the error is shown, nothing is written.
    await page.getByLabel('User', { exact: true }).fill('Not A Label!')
    await page.getByRole('button', { name: 'Set user' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/PRYV_\w+: .*Not A Label!/)
    await page.getByRole('button', { name: 'Remove alice-demo' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toBe('alice-demo removed.')
    for (const node of nodes) {
      await expect.poll(async () => Object.keys((await cli(node.dataDir, ['dns', 'users', 'get', '--json'])).users), { timeout: 15_000 }).toEqual(['bob-demo'])
    }
    expect(await page.getByText('serves no DNS').count()).toBe(1)
    await context.close()
  })

  it('shows the release in force, its history and every member\'s progress, and rolls an upgrade back', async () => {
    const { context, page } = await ownerPage(urls[0]!)
    const applied = await runCli(['--data-dir', nodes[0]!.dataDir, 'release', 'apply', DEMO_1_1, '-m', 'upgrade <b>now</b>', '--json'], { timeoutMs: 60_000 })
    expect(applied.code, applied.stderr).toBe(0)
    await page.getByRole('link', { name: 'Releases' }).click()
    await expect.poll(() => page.locator('.summary').textContent()).toContain('In force: demo 1.1.0')
    // Followed without a reload until every member reports it done.
    await expect.poll(async () => (await page.locator('tbody').first().getByRole('row').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim()), { timeout: 30_000 })
      .toEqual(['core1 done 1.1.0', 'core2 done 1.1.0', 'core3 done 1.1.0', 'obs1 done 1.1.0'])
    expect(await page.getByRole('row', { name: /apply demo 1\.1\.0 \(from 1\.0\.0\).*upgrade <b>now<\/b>/ }).count()).toBe(1)
    await page.screenshot({ path: join(ARTIFACTS, 'releases.png'), fullPage: true })
    await page.getByRole('button', { name: 'Roll back to the previous release' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toMatch(/^Rolled back from 1\.1\.0 to 1\.0\.0 \(revision \d+\)\.$/)
    for (const node of nodes) {
      await expect.poll(async () => (await cli(node.dataDir, ['release', 'status', '--json'])).current, { timeout: 15_000 }).toMatchObject({ kind: 'rollback', version: '1.0.0', automatic: false })
    }
    // Back at the first release: nothing older to go back to, said as the CLI says it.
    await page.getByRole('button', { name: 'Roll back to the previous release' }).click()
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('PRYV_RELEASE_NO_PREVIOUS')

    // Uploaded from the browser: dry-run, then applied, through the same path as `release apply`.
    const bundle = join(tempDir(), 'demo-1.1.0.tgz')
    await tar.c({ gzip: true, file: bundle, cwd: DEMO_1_1 }, ['.'])
    await page.getByLabel('Release bundle (.tgz)').setInputFiles(bundle)
    await page.getByRole('button', { name: 'Dry run the bundle' }).click()
    const log = page.getByLabel('Upload progress')
    await expect.poll(() => log.textContent(), { timeout: 30_000 }).toContain('Dry run, nothing changed: 1.0.0 → 1.1.0')
    expect((await cli(nodes[0]!.dataDir, ['release', 'status', '--json'])).current.version).toBe('1.0.0')
    await page.screenshot({ path: join(ARTIFACTS, 'releases-upload-dry-run.png'), fullPage: true })
    await page.getByLabel('Message').fill('uploaded <b>from</b> the app')
    await page.getByRole('button', { name: 'Apply the bundle' }).click()
    // The page follows the platform: the upgrade appears in force without a reload.
    await expect.poll(() => page.locator('.summary').textContent(), { timeout: 30_000 }).toContain('In force: demo 1.1.0')
    for (const node of nodes) {
      await expect.poll(async () => (await cli(node.dataDir, ['release', 'status', '--json'])).current, { timeout: 15_000 }).toMatchObject({ version: '1.1.0', kind: 'apply', message: 'uploaded <b>from</b> the app' })
    }
    await context.close()
  })

  it('has no serious or critical accessibility violations on any page (axe-core)', async () => {
    const require = createRequire(import.meta.url)
    const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')
    const context = await browser.newContext()
    const page = await context.newPage()
    const check = async (path: string) => {
      await page.goto(`${urls[0]}${path}`)
      // Injected through the DevTools protocol, which the page's CSP does not govern.
      await page.evaluate(axeSource)
      const violations = await page.evaluate(async () => {
        const result = await (window as unknown as { axe: { run: () => Promise<{ violations: { id: string, impact: string, nodes: unknown[] }[] }> } }).axe.run()
        return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.nodes.length})`)
      })
      expect(violations, path).toEqual([])
    }
    await check('/login')
    await page.getByLabel('Account').fill('admin')
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    for (const path of ['/', '/settings', '/settings?explain=platform.name&on=core1&from=1', '/dns?user=bob-demo', '/users?q=user', '/releases', '/members', '/services', '/services/logs?node=core1&service=demo-api', '/audit', '/password']) await check(path)
    await context.close()
  })
})

describe.skipIf(!hasChromium)('following a service\'s logs in the app', { timeout: 120_000 }, () => {
  let browser: Browser
  let node: NodeProcess
  let url: string

  beforeAll(async () => {
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    node = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...ARGS, '--services', 'process'])
    url = (await node.ready()).admin as string
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await node?.stop()
    cleanupTempDirs()
  })

  it('shows every service, follows one\'s logs live, and sees the restart it asked for', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    const link = await cli(node.dataDir, ['admin', 'login-link', '--json'])
    await page.goto(link.url)
    await page.getByRole('button', { name: 'Log in with this link' }).click()
    await page.getByLabel('New password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Save' }).click()
    await page.getByRole('link', { name: 'Services' }).click()
    await expect.poll(async () => {
      await page.reload()
      return page.getByRole('row', { name: /core1 demo-api running healthy/ }).count()
    }, { timeout: 20_000, interval: 500 }).toBe(1)
    await page.screenshot({ path: join(ARTIFACTS, 'services.png'), fullPage: true })
    const logs = await context.newPage()
    await logs.goto(`${url}/services`)
    await logs.getByRole('link', { name: 'Logs of demo-api on core1' }).click()
    const started = () => logs.locator('#log').textContent().then((t) => (t?.match(/started pid/g) ?? []).length)
    await expect.poll(started, { timeout: 15_000 }).toBe(1)
    await page.getByRole('button', { name: 'Restart demo-api on core1' }).click()
    await expect.poll(async () => page.getByRole('status').textContent()).toContain('demo-api restarted on core1')
    await expect.poll(started, { timeout: 15_000 }).toBe(2)
    await logs.screenshot({ path: join(ARTIFACTS, 'logs.png'), fullPage: true })
    await context.close()
  })
})

describe.skipIf(!hasChromium)('an unhealthy release in the app, on a 3-node platform running its services', { timeout: 300_000 }, () => {
  let browser: Browser
  const nodes: NodeProcess[] = []
  const args = (i: number) => ['--listen', `127.0.47.${i + 1}:0`, '--dns', 'none', '--admin', `127.0.47.${i + 1}:0`, '--services', 'process']

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true })
    const { chromium } = await import('playwright-core')
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
    nodes.push(NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...args(0)]))
    await nodes[0]!.ready(60_000)
    for (const [i, name] of ['core2', 'core3'].entries()) {
      const invite = (await cli(nodes[0]!.dataDir, ['invite', 'create', '--json'])).invite
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', name, ...args(i + 1)])
      nodes.push(node)
      await node.ready(60_000)
    }
  }, 180_000)

  afterAll(async () => {
    await browser?.close()
    await Promise.all(nodes.map((n) => n.stop()))
    cleanupTempDirs()
  })

  it('uploads it, follows its waves live, and sees the canary\'s health gate fail and the platform roll back by itself', async () => {
    const url = nodes[1]!.events.find((e) => e.event === 'ready')!.admin as string
    const context = await browser.newContext()
    const page = await context.newPage()
    const link = await cli(nodes[0]!.dataDir, ['admin', 'login-link', '--json'])
    await page.goto(link.url.replace(new URL(link.url).origin, url))
    await page.getByRole('button', { name: 'Log in with this link' }).click()
    await page.getByLabel('New password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Save' }).click()
    await expect.poll(() => new URL(page.url()).pathname).toBe('/')
    await page.getByRole('link', { name: 'Releases' }).click()
    const waves = (caption: RegExp) => page.getByRole('table', { name: caption }).locator('tbody tr').allInnerTexts().then((rows) => rows.map((r) => r.replace(/\s+/g, ' ').trim()))
    // The release in force rolled out everywhere (every member's services healthy).
    await expect.poll(() => waves(/^Rollout of 1\.0\.0/), { timeout: 60_000 }).toEqual([
      'canary core1 healthy passed passed: every service healthy',
      'wave 1 core2 healthy passed passed: every service healthy',
      'wave 2 core3 healthy passed passed: every service healthy'
    ])

    const bundle = join(tempDir(), 'demo-1.2.0.tgz')
    await tar.c({ gzip: true, file: bundle, cwd: DEMO_1_2_UNHEALTHY }, ['.'])
    await page.getByLabel('Release bundle (.tgz)').setInputFiles(bundle)
    await page.getByLabel('Message').fill('broken <b>upgrade</b>')
    await page.getByRole('button', { name: 'Apply the bundle' }).click()
    // No reload from here on: the page follows the rollout (server-sent events).
    await expect.poll(() => waves(/^Rollout of 1\.2\.0/), { timeout: 90_000 }).toEqual([
      expect.stringMatching(/^canary core1 failed failed failed on core1 \(demo-api: .+\)$/),
      'wave 1 core2 skipped not reached not run: the release was replaced before this wave',
      'wave 2 core3 skipped not reached not run: the release was replaced before this wave'
    ])
    await expect.poll(() => waves(/^Automatic rollback to 1\.0\.0/), { timeout: 90_000 }).toEqual([
      'canary core1 healthy passed passed: every service healthy',
      'wave 1 core2 healthy passed passed: every service healthy',
      'wave 2 core3 healthy passed passed: every service healthy'
    ])
    expect(await page.locator('.summary').textContent()).toMatch(/In force: demo 1\.0\.0 since revision \d+ \(rolled back automatically by core1\)\. Every member runs it\./)
    expect(await page.getByRole('row', { name: /apply demo 1\.2\.0 \(from 1\.0\.0\).*broken <b>upgrade<\/b>/ }).count()).toBe(1)
    expect(await page.locator('main b').count()).toBe(0)
    await page.screenshot({ path: join(ARTIFACTS, 'releases-rollback.png'), fullPage: true })
    // The CLI sees the same.
    for (const node of nodes) {
      expect((await cli(node.dataDir, ['release', 'status', '--json'])).current).toMatchObject({ kind: 'rollback', version: '1.0.0', automatic: true })
    }
    await context.close()
  })
})
