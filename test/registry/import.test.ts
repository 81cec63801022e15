import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { DumpFormatError, parseDump } from '../../src/registry/import.js'
import { cleanupTempDirs, runCli, tempDir } from '../support/cli.js'

const coreOf = (server: string): string => server.replace(/\.pryv\.me$/, '')

describe('reading a v1 registry dump', () => {
  it('reads redis-dump\'s SET/HSET lines: server, account fields, and unique fields from <value>:<field> keys', () => {
    const dump = [
      'SELECT 0',
      'SET     "dbversion" "0.1.1"',
      'SET     "alice:server" "co1.pryv.me"',
      'HSET    "alice:users" "email" "Alice@X.com" "language" "fr" "registeredTimestamp" "1600000000000"',
      'SET     "alice@x.com:email" "alice"',
      'SET     "bob01:server" "co2.pryv.me"',
      'HMSET   "bob01:users" "email" "b@x.com" "nickname" "the \\"builder\\""',
      'SET     "b@x.com:email" "bob01"',
      'SET     "the \\"builder\\":nickname" "bob01"',
      'HSET    "abcde:invitation" "createdAt" "1"'
    ].join('\n')
    const { users, skippedKeys } = parseDump(dump, coreOf)
    expect(users).toEqual([
      { username: 'alice', core: 'co1', fields: { email: 'alice@x.com', language: 'fr', registeredTimestamp: 1600000000000 }, unique: ['email'] },
      { username: 'bob01', core: 'co2', fields: { email: 'b@x.com', nickname: 'the "builder"' }, unique: ['email', 'nickname'] }
    ])
    expect(skippedKeys).toBe(2)
  })

  it('reads the same data as a JSON key map, and the register\'s JSON export', () => {
    const keys = parseDump(JSON.stringify({ 'alice:server': 'co1.pryv.me', 'alice:users': { email: 'a@x.com' }, 'a@x.com:email': 'alice' }), coreOf)
    expect(keys.users).toEqual([{ username: 'alice', core: 'co1', fields: { email: 'a@x.com' }, unique: ['email'] }])
    const exported = parseDump(JSON.stringify({ users: [{ username: 'Alice', server: 'co1.pryv.me', email: 'a@x.com', registeredDate: 'Mon', registeredTimestamp: 5 }] }), coreOf)
    expect(exported.users).toEqual([{ username: 'alice', core: 'co1', fields: { email: 'a@x.com', registeredTimestamp: 5 }, unique: ['email'] }])
  })

  it('says which line is not a dump', () => {
    expect(() => parseDump('SET "a:server" "x"\nFLUSHALL', coreOf)).toThrow(new DumpFormatError('line 2: "FLUSHALL" is not a SET, HSET or HMSET command'))
    expect(() => parseDump('SET "a:server', coreOf)).toThrow(/line 1: unterminated/)
    expect(() => parseDump('{"users": [{"server": "x"}]}', coreOf)).toThrow(/user 1 of the export has no username/)
  })
})

describe('registry CLI bad input', () => {
  afterAll(cleanupTempDirs)

  it('refuses a --register address beyond loopback before anything is created (exit 2)', async () => {
    const dir = join(tempDir(), 'data')
    const r = await runCli(['--data-dir', dir, 'init-platform', '--domain', 'pryv.test', '--name', 'core1', '--register', '10.1.2.3:9000'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('PRYV_REGISTER_NOT_LOOPBACK')
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(existsSync(dir)).toBe(false)
  })

  it('names a dump file it cannot read (exit 3)', async () => {
    const file = join(tempDir(), 'dump.txt')
    const r = await runCli(['--data-dir', tempDir(), 'registry', 'import', file])
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('PRYV_FILE_UNREADABLE')
  })
})
