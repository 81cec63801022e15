import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { USERS_PAGE_SIZE, usersPage } from '../../src/admin/users.js'
import type { RegistryUser } from '../../src/state/types.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { AdminClient } from './client.js'

const user = (i: number, core = 'core1', email = `u${i}@example.com`): RegistryUser => ({ username: `user-${String(i).padStart(6, '0')}`, core, fields: { email }, unique: ['email'], registeredAt: 0 })

describe('a page of the platform\'s users', () => {
  it('pages 100k users in username order, whatever order the registry holds them in, each page at most the limit', () => {
    const all = Array.from({ length: 100_000 }, (_, i) => user((i * 7919) % 100_000, i % 2 === 0 ? 'core1' : 'core2'))
    const first = usersPage(all, { limit: 100 })
    expect(first.total).toBe(100_000)
    expect(first.users.map((u) => u.username)).toEqual(Array.from({ length: 100 }, (_, i) => user(i).username))
    expect(first.next).toBe(user(99).username)
    const second = usersPage(all, { limit: 100, after: first.next })
    expect(second.users[0]!.username).toBe(user(100).username)
    const last = usersPage(all, { limit: 100, after: user(99_949).username })
    expect(last.users).toHaveLength(50)
    expect(last.next).toBeUndefined()
  })

  it('finds users by part of their name or email, any case, and by core', () => {
    const all = [user(1, 'core1', 'Alice@Example.com'), user(2, 'core2'), user(3, 'core2', 'bob@example.org'), user(12, 'core1')]
    expect(usersPage(all, { q: 'ALICE', limit: 10 }).users.map((u) => u.username)).toEqual([user(1).username])
    expect(usersPage(all, { q: '000', core: 'core2', limit: 10 })).toEqual({ users: [all[1], all[2]], total: 2 })
    expect(usersPage(all, { q: '.org', limit: 10 }).total).toBe(1)
    expect(usersPage(all, { q: 'user-00001', limit: 1 })).toEqual({ users: [all[3]], total: 1 })
  })
})

describe('the platform users page and API on a node', () => {
  let node: NodeProcess
  let client: AdminClient
  let token: string
  /** GET as a viewer's API token. */
  const get = (path: string) => client.request('GET', path, undefined, { authorization: `Bearer ${token}` })

  beforeAll(async () => {
    node = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.48.1:0', '--dns', 'none', '--admin', '127.0.48.1:0'])
    const url = (await node.ready()).admin as string
    const users = Array.from({ length: 1200 }, (_, i) => ({ username: `user-${String(i).padStart(6, '0')}`, server: 'core1.pryv.test', email: `u${i}@example.com` }))
    users.push({ username: 'mallory-x', server: 'core1.pryv.test', email: '"\'><img src=x onerror=alert(1)>@example.com', note: '<script>alert(1)</script>' } as never)
    const file = join(tempDir(), 'export.json')
    writeFileSync(file, JSON.stringify({ users }))
    const imported = await runCli(['--data-dir', node.dataDir, 'registry', 'import', file], { timeoutMs: 120_000 })
    expect(imported.code, imported.stderr).toBe(0)
    token = JSON.parse((await runCli(['--data-dir', node.dataDir, 'admin', 'tokens', 'create', '--role', 'viewer', '--json'])).stdout).token
    client = new AdminClient(url)
  }, 120_000)

  afterAll(async () => {
    await node?.stop()
    cleanupTempDirs()
  })

  it('answers one page at a time, the next page from where the last ended, and refuses a page too large', async () => {
    const first = await get('/api/v1/registry/users?limit=500')
    expect(first.status).toBe(200)
    expect(first.body.total).toBe(1201)
    expect(first.body.users).toHaveLength(500)
    const rest = await get(`/api/v1/registry/users?limit=500&after=${first.body.next}`)
    const last = await get(`/api/v1/registry/users?limit=500&after=${rest.body.next}`)
    expect(last.body.users).toHaveLength(201)
    expect(last.body.next).toBeUndefined()
    const names = [...first.body.users, ...rest.body.users, ...last.body.users].map((u: { username: string }) => u.username)
    expect(new Set(names).size).toBe(1201)
    expect(names).toEqual([...names].sort())
    const tooMany = await get('/api/v1/registry/users?limit=100000')
    expect([tooMany.status, tooMany.body.error.code]).toEqual([400, 'PRYV_USAGE'])
    expect((await fetch(`${client.base}/api/v1/registry/users`)).status).toBe(401)
  })

  it('shows a page of users with their core, searches, and prints their fields as text', async () => {
    const page = await get('/users')
    expect(page.status).toBe(200)
    // In username order: mallory-x first.
    expect(page.text.match(/<td>[a-z0-9-]+<\/td><td>core1<\/td>/g)).toHaveLength(USERS_PAGE_SIZE)
    expect(page.text).toContain('1201 users, mallory-x to user-000048 shown')
    expect(page.text).toContain('href="/users?after=user-000048"')
    const next = await get('/users?after=user-000048')
    expect(next.text).toContain('user-000049 to user-000098 shown')
    expect(page.text).toContain('Read-only')
    const found = await get('/users?q=ONERROR')
    expect(found.text).toContain('1 user found')
    expect(found.text).toContain('<td>mallory-x</td><td>core1</td>')
    expect(found.text).toContain('&quot;&#39;&gt;&lt;img src=x onerror=alert(1)&gt;@example.com')
    expect(found.text).toContain('note=&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(found.text).not.toContain('<img src=x')
    expect(found.text).not.toContain('<script>alert')
  })
})
