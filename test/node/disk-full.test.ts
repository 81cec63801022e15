import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { callControl } from '../../src/control/client.js'
import { cleanupTempDirs, NodeProcess, tempDir } from '../support/cli.js'

/** A small tmpfs to fill up: needs root (CI runs as root). */
function mountSmallDisk(dir: string): string | null {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs'
  mkdirSync(dir, { recursive: true })
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { encoding: 'utf8' })
  return r.status === 0 ? null : `mount failed: ${r.stderr}`
}

const disk = `${tempDir('pn-full-')}/disk`
const unavailable = mountSmallDisk(disk)
if (unavailable) console.warn(`[skip] full-disk test: ${unavailable}`)

describe.skipIf(unavailable !== null)('a full disk', () => {
  let node: NodeProcess

  beforeAll(async () => {
    node = NodeProcess.start(`${disk}/node`, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', '--listen', '127.0.0.1:0', '--dns', 'none'])
    await node.ready()
  })

  afterAll(async () => {
    await node.kill()
    spawnSync('umount', [disk])
    cleanupTempDirs()
  })

  it('stops the node with a clear message and exit 70, and a restart after freeing space loses nothing acknowledged', async () => {
    const control = (method: string, params: Record<string, unknown>): Promise<unknown> => callControl(`${disk}/node/control.sock`, method, params, 10_000)
    await control('dns.users.set', { users: { before: 'core1' } })
    // Fill the disk, then write until the node cannot.
    try {
      writeFileSync(`${disk}/filler`, Buffer.alloc(8 * 1024 * 1024))
    } catch {
      // ENOSPC: the disk is now full.
    }
    const acknowledged: string[] = []
    for (let i = 0; i < 200 && node.proc.exitCode === null; i++) {
      try {
        await control('dns.users.set', { users: { [`u${i}`]: 'core1' } })
        acknowledged.push(`u${i}`)
      } catch {
        break
      }
    }
    expect(await node.exitCode()).toBe(70)
    expect(node.stderr).toContain('error PRYV_NODE_FATAL')
    expect(node.stderr).toContain('No space left on device')
    expect(node.stderr).toContain('hint: check the free space')

    rmSync(`${disk}/filler`)
    node = NodeProcess.start(`${disk}/node`, ['start', '--listen', '127.0.0.1:0', '--dns', 'none'])
    await node.ready()
    const users = (await control('dns.users.get', {}) as { users: Record<string, string> }).users
    for (const u of ['before', ...acknowledged]) expect(users).toHaveProperty(u)
  })
})
