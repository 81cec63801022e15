import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'

const IPS = ['127.0.16.11', '127.0.16.12', '127.0.16.13']
const args = (i: number): string[] => ['--listen', `${IPS[i]}:0`, '--dns', 'none', '--register', `${IPS[i]}:0`]

interface Attempt {
  readonly username: string
  readonly email: string
  /** created: 201; taken: v1's EXISTING_USER_NAME; unknown: the outcome cannot be known (node killed, write outcome unknown). */
  readonly outcome: 'created' | 'taken' | 'unknown'
}

const control = (node: NodeProcess, method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
  callControl(`${node.dataDir}/control.sock`, method, params, 15_000)

describe('registrations while the writer set\'s leader is killed with SIGKILL', () => {
  const nodes: NodeProcess[] = []
  const register: string[] = []
  let systemKey = ''

  beforeAll(async () => {
    const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--release', 'releases/pryv-io', ...args(0)])
    nodes.push(founder)
    register.push((await founder.ready()).register as string)
    for (const i of [1, 2]) {
      const { invite } = await control(founder, 'invite.create', { role: 'full' }) as { invite: string }
      const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', `core${i + 1}`, ...args(i)])
      nodes.push(node)
      register.push((await node.ready()).register as string)
    }
    const settings = await control(founder, 'settings.get', { reveal: true }) as { values: Record<string, string> }
    systemKey = settings.values['internals.registerSystemKey']!
  })

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.kill()))
    cleanupTempDirs()
  })

  it('loses no acknowledged registration and never registers a name twice', async () => {
    // Three voters before the chaos starts.
    await expect.poll(async () => {
      const s = await control(nodes[0]!, 'status') as { writerSet: { voters: string[] } | null }
      return s.writerSet?.voters.length
    }, { timeout: 30_000, interval: 500 }).toBe(3)
    const attempts: Attempt[] = []
    let running = true
    let seq = 0

    const client = async (): Promise<void> => {
      while (running) {
        const i = Math.floor(Math.random() * 3)
        // A small pool of names, so that concurrent creations of the same name are frequent.
        const username = `chaos-${String(Math.floor(Math.random() * 300)).padStart(3, '0')}`
        const email = `m${seq++}@chaos.test`
        let outcome: Attempt['outcome'] = 'unknown'
        try {
          const res = await fetch(`http://${register[i]}/users`, {
            method: 'POST',
            headers: { authorization: systemKey, 'content-type': 'application/json' },
            body: JSON.stringify({ user: { username, email }, host: { name: `core${i + 1}` }, unique: ['username', 'email'] }),
            signal: AbortSignal.timeout(15_000)
          })
          const body = await res.json() as { id?: string }
          if (res.status === 201) outcome = 'created'
          else if (res.status === 400 && body.id === 'EXISTING_USER_NAME') outcome = 'taken'
        } catch {
          // The node was killed or the request timed out: the registration may or may not have happened.
          await new Promise((r) => setTimeout(r, 50))
        }
        attempts.push({ username, email, outcome })
      }
    }

    const clients = [0, 1, 2, 3].map(client)
    await new Promise((r) => setTimeout(r, 2000))
    const leaderId = (await control(nodes[0]!, 'status') as { writerSet: { leader: string } }).writerSet.leader
    const statuses = await Promise.all(nodes.map((n) => control(n, 'status') as Promise<{ self: { peerId: string } }>))
    const leader = statuses.findIndex((s) => s.self.peerId === leaderId)
    expect(leader).toBeGreaterThanOrEqual(0)
    const beforeKill = attempts.length
    await nodes[leader]!.kill()
    await new Promise((r) => setTimeout(r, 4000))
    nodes[leader] = NodeProcess.start(nodes[leader]!.dataDir, ['start', ...args(leader)])
    register[leader] = (await nodes[leader]!.ready()).register as string
    await new Promise((r) => setTimeout(r, 2000))
    running = false
    await Promise.all(clients)

    const created = attempts.filter((a) => a.outcome === 'created')
    expect(created.length).toBeGreaterThan(10)
    expect(attempts.slice(beforeKill).filter((a) => a.outcome === 'created').length).toBeGreaterThan(0)
    // Never two acknowledged creations of one name.
    const names = created.map((a) => a.username)
    expect(names.length).toBe(new Set(names).size)

    // Every node ends with the same users; each acknowledged one with the e-mail it was created with,
    // and every user there comes from an attempt that was acknowledged or whose outcome is unknown.
    await expect.poll(async () => new Set((await Promise.all(nodes.map((n) => control(n, 'status') as Promise<{ revision: number }>))).map((s) => s.revision)).size, { timeout: 20_000, interval: 500 }).toBe(1)
    const finals = await Promise.all(nodes.map((n) => control(n, 'registry.users', { consistent: true }) as Promise<{ users: Array<{ username: string, fields: { email: string } }> }>))
    const emailOf = (f: (typeof finals)[number]) => Object.fromEntries(f.users.map((u) => [u.username, u.fields.email]))
    for (const f of finals) expect(emailOf(f)).toEqual(emailOf(finals[0]!))
    const final = emailOf(finals[0]!)
    for (const a of created) expect(final[a.username]).toBe(a.email)
    const possible = new Set(attempts.filter((a) => a.outcome !== 'taken').map((a) => `${a.username} ${a.email}`))
    for (const [username, email] of Object.entries(final)) expect(possible.has(`${username} ${email}`)).toBe(true)
    console.log(`registrations: ${attempts.length} attempts, ${created.length} acknowledged, ${attempts.filter((a) => a.outcome === 'unknown').length} unknown, ${Object.keys(final).length} users in the end`)
  })
})
