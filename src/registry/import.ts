/**
 * Reading a v1 registry for `pryv-node registry import`: a Redis dump (`<user>:server`,
 * `<user>:users`, `<value>:<field>` keys), as JSON (`{key: string | {hash}}`) or as redis-cli commands
 * (`SET`, `HSET`, `HMSET` lines), or the register's JSON export (`GET /admin/users`: `{users: [...]}`).
 * Pure: turns text into users to import; the state machine decides what is imported.
 */
import { type FieldValue, type ImportedUser, MAX_IMPORT_PER_COMMAND, type RegistryCommand } from '../state/registry.js'

export interface ParsedDump {
  readonly users: ImportedUser[]
  /** Keys that hold no user data (invitations, access requests, versions…), ignored. */
  readonly skippedKeys: number
}

export interface ImportReport {
  readonly read: number
  readonly imported: number
  readonly unchanged: number
  readonly refused: Array<{ username: string, reason: string }>
  readonly skippedKeys?: number
}

export class DumpFormatError extends Error {
  static override name = 'DumpFormatError'
  override name = 'DumpFormatError'
}

/**
 * Parses a dump. `coreOf` maps v1's server name (e.g. `co1.pryv.me`) to the node that now hosts the
 * user (by default: the name without `.<domain>`).
 */
export function parseDump(text: string, coreOf: (server: string) => string): ParsedDump {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    let json: unknown
    try {
      json = JSON.parse(trimmed)
    } catch (err) {
      throw new DumpFormatError(`the file looks like JSON but does not parse: ${(err as Error).message}`)
    }
    const users = (json as { users?: unknown }).users
    if (Array.isArray(users)) return { users: fromExport(users, coreOf), skippedKeys: 0 }
    return fromKeys(Object.entries(json as Record<string, unknown>), coreOf)
  }
  return fromKeys(redisCommands(trimmed), coreOf)
}

function fromExport(list: unknown[], coreOf: (server: string) => string): ImportedUser[] {
  return list.map((raw, i) => {
    const u = raw as Record<string, unknown>
    if (typeof u !== 'object' || u === null || typeof u.username !== 'string' || typeof u.server !== 'string') {
      throw new DumpFormatError(`user ${i + 1} of the export has no username or server`)
    }
    const { username, server, registeredDate: _date, errors: _errors, ...rest } = u
    return { username: username.toLowerCase(), core: coreOf(server), fields: scalars(rest), unique: typeof rest.email === 'string' ? ['email'] : [] }
  })
}

function fromKeys(entries: Array<[string, unknown]>, coreOf: (server: string) => string): ParsedDump {
  const servers = new Map<string, string>()
  const hashes = new Map<string, Record<string, unknown>>()
  const unique = new Map<string, Set<string>>()
  let skippedKeys = 0
  for (const [key, value] of entries) {
    const i = key.lastIndexOf(':')
    const [head, tail] = i < 0 ? [key, ''] : [key.slice(0, i), key.slice(i + 1)]
    if (tail === 'server' && typeof value === 'string') servers.set(head.toLowerCase(), value)
    else if (tail === 'users' && typeof value === 'object' && value !== null) hashes.set(head.toLowerCase(), { ...hashes.get(head.toLowerCase()), ...(value as Record<string, unknown>) })
    else if (/^[A-Za-z0-9_-]+$/.test(tail) && !['invitation', 'access', 'infos'].includes(tail) && typeof value === 'string' && !key.includes(':inactive:')) {
      // `<value>:<field>` → username: the field is unique for that user.
      const set = unique.get(value.toLowerCase()) ?? new Set<string>()
      set.add(tail)
      unique.set(value.toLowerCase(), set)
    } else skippedKeys++
  }
  const users: ImportedUser[] = []
  for (const [username, server] of servers) {
    const fields = scalars(hashes.get(username) ?? {})
    delete fields.username
    const u = [...(unique.get(username) ?? [])].filter((f) => f !== 'server' && fields[f] !== undefined)
    users.push({ username, core: coreOf(server), fields, unique: u.sort() })
  }
  return { users, skippedKeys: skippedKeys + [...unique.keys()].filter((u) => !servers.has(u)).length }
}

/** Redis hashes hold strings: numbers come back as numbers where v1 wrote them (timestamps). */
function scalars(obj: Record<string, unknown>): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {}
  for (const [k, v] of Object.entries(obj)) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(k)) continue
    if (k === 'registeredTimestamp' && typeof v === 'string' && /^\d+$/.test(v)) out[k] = Number(v)
    else if (v === null || typeof v === 'boolean' || typeof v === 'number') out[k] = v
    else if (typeof v === 'string') out[k] = k === 'email' ? v.toLowerCase() : v
  }
  return out
}

/** `SET k v`, `HSET k f v [f v…]`, `HMSET k f v…` lines (double-quoted words with backslash escapes). */
function redisCommands(text: string): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = []
  const lines = text.split('\n')
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim()
    if (line === '' || line.startsWith('#')) continue
    const words = tokenize(line, n + 1)
    const cmd = words[0]!.toUpperCase()
    if (cmd === 'SET' && words.length >= 3) out.push([words[1]!, words[2]!])
    else if ((cmd === 'HSET' || cmd === 'HMSET') && words.length >= 4 && words.length % 2 === 0) {
      const hash: Record<string, string> = {}
      for (let i = 2; i < words.length; i += 2) hash[words[i]!] = words[i + 1]!
      out.push([words[1]!, hash])
    } else if (['SELECT', 'DEL', 'EXPIRE', 'PEXPIREAT', 'SADD', 'RPUSH', 'ZADD'].includes(cmd)) continue
    else throw new DumpFormatError(`line ${n + 1}: "${line.slice(0, 60)}" is not a SET, HSET or HMSET command`)
  }
  return out
}

function tokenize(line: string, n: number): string[] {
  const words: string[] = []
  let i = 0
  while (i < line.length) {
    if (line[i] === ' ' || line[i] === '\t') { i++; continue }
    let word = ''
    if (line[i] === '"' || line[i] === '\'') {
      const quote = line[i++]
      while (i < line.length && line[i] !== quote) {
        if (line[i] === '\\' && i + 1 < line.length) {
          const next = line[i + 1]!
          word += next === 'n' ? '\n' : next === 't' ? '\t' : next
          i += 2
        } else word += line[i++]
      }
      if (line[i] !== quote) throw new DumpFormatError(`line ${n}: unterminated quoted string`)
      i++
    } else {
      while (i < line.length && line[i] !== ' ' && line[i] !== '\t') word += line[i++]
    }
    words.push(word)
  }
  return words
}

/** Submits the users in commands of at most MAX_IMPORT_PER_COMMAND and adds up the reports. */
export async function importInBatches(users: ImportedUser[], submit: (command: RegistryCommand) => Promise<unknown>): Promise<ImportReport> {
  let imported = 0
  let unchanged = 0
  const refused: ImportReport['refused'] = []
  for (let i = 0; i < users.length; i += MAX_IMPORT_PER_COMMAND) {
    const value = await submit({ kind: 'registry.import', users: users.slice(i, i + MAX_IMPORT_PER_COMMAND) }) as Omit<ImportReport, 'read'>
    imported += value.imported
    unchanged += value.unchanged
    refused.push(...value.refused)
  }
  return { read: users.length, imported, unchanged, refused }
}
