import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decryptBackup, readBackup } from '../../src/backup/format.js'
import { writeBackup } from '../../src/backup/write.js'
import { OperatorError } from '../../src/errors.js'
import { writeRawState } from '../../src/state/raw-state.js'
import { decodeSnapshot, decodeSnapshotText, encodeSnapshot, encodeSnapshotText, SnapshotError } from '../../src/state/snapshot.js'
import { StateStore } from '../../src/state/store.js'
import { cleanupTempDirs, tempDir } from '../support/cli.js'

const PLATFORM = 'p-text'
const KEY = 'a-backup-key-of-some-length'

/**
 * Records of every awkward shape: a head with the node-local raft cursor, keys with escapes (one
 * holding `",`, the end of a key on the fast path), values with unicode, escapes, line separators,
 * big and small numbers, nulls; and a few MiB of them.
 */
function records(): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [
    ['state/head', { revision: 42, hash: 'f'.repeat(64), zoneRevision: 40, writers: ['w1'], raft: { index: 7, revision: 42 } }],
    ['state/platform', { id: PLATFORM, domain: 'pryv.test', createdAt: 1e15 }],
    ['state/c/dnsUser/we"ird,key', 'core1'],
    ['state/c/dnsUser/back\\slash', 'core2'],
    ['state/c/dnsUser/ünï', { text: 'é😀\u2028\u2029\ttab "quoted" \\ back', n: -0, big: 1e21, small: 5e-324, nothing: null, list: [1, 'two', { three: 3 }] }]
  ]
  for (let i = 0; i < 4000; i++) out.push([`state/c/registryUser/user${String(i).padStart(5, '0')}`, { username: `user${i}`, core: 'core1', fields: { email: `user${i}@example.com`, note: 'x'.repeat(600) } }])
  return out
}

describe('the backup\'s snapshot text: the state\'s stored JSON, as the snapshot format has it', () => {
  const stores: StateStore[] = []
  afterAll(async () => {
    for (const s of stores) await s.close().catch(() => undefined)
    cleanupTempDirs()
  })
  async function filled(): Promise<StateStore> {
    const store = await StateStore.open(tempDir())
    stores.push(store)
    await store.write(records().map(([key, value]) => ({ type: 'put' as const, key, value })), false)
    return store
  }

  it('writes the same bytes as encodeSnapshot, reads back the same records, and founds a store holding them', async () => {
    const store = await filled()
    const expected = encodeSnapshot(PLATFORM, await store.exportState())
    const text = encodeSnapshotText(PLATFORM, await store.exportStateText())
    expect(text.bytes.equals(expected.bytes)).toBe(true)
    expect(text.header).toEqual(expected.header)

    const decoded = decodeSnapshotText(expected.bytes)
    const reference = decodeSnapshot(expected.bytes)
    expect(decoded.header).toEqual(reference.header)
    expect(decoded.records.map(([key, json]) => [key, JSON.parse(json)])).toEqual(reference.records)

    const dir = tempDir()
    await writeRawState(dir, decoded.records)
    const founded = await StateStore.open(dir)
    stores.push(founded)
    expect(await founded.exportState()).toEqual(reference.records)
  })

  it('refuses what decodeSnapshot refuses, with the same message', async () => {
    const { bytes } = encodeSnapshot(PLATFORM, await (await filled()).exportState())
    const text = bytes.toString('utf8')
    const lines = text.split('\n')
    const damaged = {
      truncated: text.slice(0, -10),
      'no header': `garbage\n${lines.slice(1).join('\n')}`,
      'newer version': text.replace('"version":1', '"version":99'),
      'a record missing': [...lines.slice(0, 3), ...lines.slice(4)].join('\n'),
      'not a state record': text.replace('["state/platform"', '["meta/platform"'),
      'head not matching': text.replace(`"revision":42,"hash"`, `"revision":41,"hash"`)
    }
    for (const [what, bad] of Object.entries(damaged)) {
      const buffer = Buffer.from(bad)
      const message = (f: () => unknown): string => {
        try {
          f()
        } catch (err) {
          expect(err, what).toBeInstanceOf(SnapshotError)
          return (err as Error).message
        }
        throw new Error(`${what}: accepted`)
      }
      expect(message(() => decodeSnapshotText(buffer)), what).toBe(message(() => decodeSnapshot(buffer)))
    }
  })

  it('writes a backup the reader opens with the key, and never replaces a file', async () => {
    const store = await filled()
    const file = join(tempDir(), 'b.pnb')
    const origin = { platformId: PLATFORM, domain: 'pryv.test', node: 'core1', platformKeyHex: 'ab'.repeat(32) }
    const written = await writeBackup(store, origin, file, KEY, { replace: false })
    expect(written.revision).toBe(42)
    const bytes = readFileSync(file)
    expect(written.bytes).toBe(bytes.length)
    const { header, payload } = readBackup(bytes, file)
    const content = decryptBackup(header, payload, KEY)
    expect(content.platformKeyHex).toBe(origin.platformKeyHex)
    expect(content.snapshot.equals(encodeSnapshot(PLATFORM, await store.exportState()).bytes)).toBe(true)
    expect(() => decryptBackup(header, payload, `${KEY}-not`)).toThrow(expect.objectContaining({ code: 'PRYV_BACKUP_WRONG_KEY' }))

    const other = join(tempDir(), 'other.pnb')
    writeFileSync(other, 'someone else\'s file')
    const refused = await writeBackup(store, origin, other, KEY, { replace: false }).catch((err: unknown) => err)
    expect(refused).toBeInstanceOf(OperatorError)
    expect(refused).toMatchObject({ code: 'PRYV_FILE_EXISTS' })
    expect(readFileSync(other, 'utf8')).toBe('someone else\'s file')
    const nowhere = join(tempDir(), 'missing-dir', 'x.pnb')
    await expect(writeBackup(store, origin, nowhere, KEY, { replace: false })).rejects.toMatchObject({ code: 'PRYV_BACKUP_UNWRITABLE' })
    expect(existsSync(nowhere)).toBe(false)
  })
})
