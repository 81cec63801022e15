/** Plain-text tables for operators; `--json` gives the same data unformatted. */

interface StatusMember {
  name: string
  peerId: string
  role: string
  writer: boolean
  self: boolean
  addresses: string[]
  alive: boolean
  lastSeenAgoMs: number | null
  revision: number | null
}

interface Status {
  platform: { id: string, domain: string }
  self: { name: string, peerId: string }
  revision: number
  appliedOn: { count: number, of: number }
  members: StatusMember[]
  dns: string[]
  writerSet: { role: string, term: number, leader: string | null, voters: string[], learners: string[], leaderlessForMs?: number | null } | null
  settings?: { revision?: number, restarted?: string[], failures?: unknown[] } | null
  compaction?: { log: { firstRevision: number }, lastCompactionAt: number | null, diskBytes: number | null, snapshot: { index: number, revision: number } | null }
  backups?: { dir: string, intervalMs: number, lastAt: number | null, lastError: string | null, stale: boolean } | null
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

export function formatStatus(s: Status): string {
  const rows = s.members.map((m) => [
    `${m.name}${m.self ? ' *' : ''}`,
    m.role + memberRoleNote(s, m),
    m.alive ? 'up' : 'down',
    m.lastSeenAgoMs === null ? '-' : m.self ? 'now' : `${(m.lastSeenAgoMs / 1000).toFixed(1)}s ago`,
    m.revision === null ? '-' : String(m.revision),
    m.addresses.join(' '),
    m.peerId
  ])
  return [
    `platform ${s.platform.id}  domain ${s.platform.domain}  revision ${s.revision} applied on ${s.appliedOn.count}/${s.appliedOn.of}`,
    `dns      ${s.dns.length > 0 ? s.dns.join(' ') : 'off'}`,
    `writers  ${writerSetLine(s)}`,
    ...leaderlessWarning(s),
    ...(s.compaction ? [`storage  ${storageLine(s.compaction)}`] : []),
    ...backupLines(s.backups),
    '',
    table(['NAME', 'ROLE', 'STATE', 'LAST SEEN', 'REVISION', 'ADDRESSES', 'PEER ID'], rows),
    '',
    '* this node'
  ].join('\n')
}

/** How a full node takes part, as this node's writer set sees it (known only on full nodes). */
function memberRoleNote(s: Status, m: StatusMember): string {
  if (s.writerSet && m.role === 'full') {
    if (s.writerSet.voters.includes(m.peerId)) return ' (voter)'
    if (s.writerSet.learners.includes(m.peerId)) return ' (learner)'
    return ' (not in the writer set yet)'
  }
  return m.writer ? ' (writer)' : ''
}

/** Shown after LEADERLESS_WARNING_MS: long enough for an election, short enough to be noticed. */
const LEADERLESS_WARNING_MS = 3000

function leaderlessWarning(s: Status): string[] {
  const ms = s.writerSet?.leaderlessForMs
  if (ms === undefined || ms === null || ms < LEADERLESS_WARNING_MS) return []
  return [`warning  no leader for ${Math.round(ms / 1000)} s: this node cannot write; check that a majority of the voters are up and reachable (\`pryv-node status\` on them)`]
}

function storageLine(c: NonNullable<Status['compaction']>): string {
  const size = c.diskBytes === null ? '?' : `${(c.diskBytes / 1024 / 1024).toFixed(1)} MiB`
  const last = c.lastCompactionAt === null ? 'never compacted' : `last compacted ${new Date(c.lastCompactionAt).toISOString()}`
  const snapshot = c.snapshot ? `; snapshot at index ${c.snapshot.index} (revision ${c.snapshot.revision})` : ''
  return `log from revision ${c.log.firstRevision}, ${size} on disk, ${last}${snapshot}`
}

/** Scheduled backups (backup.* settings): where, the last good one, and a warning when it is too old. */
function backupLines(b: Status['backups']): string[] {
  if (!b) return []
  const last = b.lastAt === null ? 'none yet' : `last good ${new Date(b.lastAt).toISOString()}`
  const lines = [`backups  every ${b.intervalMs / 1000} s into ${b.dir}; ${last}${b.lastError ? `; last attempt failed: ${b.lastError}` : ''}`]
  if (b.stale) lines.push('warning  the last good backup is older than twice backup.interval: check the error above, backup.directory and backup.keyFile')
  return lines
}

function writerSetLine(s: Status): string {
  const name = (peerId: string | null): string => s.members.find((m) => m.peerId === peerId)?.name ?? peerId ?? 'none'
  const voters = s.writerSet?.voters ?? []
  const learners = s.writerSet?.learners ?? []
  const set = `voters ${voters.map(name).join(', ') || '-'}${learners.length > 0 ? `; learners ${learners.map(name).join(', ')}` : ''}`
  if (!s.writerSet) return 'this node is an observer'
  return `this node is ${s.writerSet.role} at term ${s.writerSet.term}; leader ${name(s.writerSet.leader)}; ${set}`
}

interface InviteRow { id: string, role: string, status: string, used: number, uses: number, expiresAt: string, createdBy: string }

export function formatInviteList(list: InviteRow[]): string {
  if (list.length === 0) return 'No invites.'
  return table(['ID', 'ROLE', 'STATUS', 'USED', 'EXPIRES', 'CREATED BY'],
    list.map((i) => [i.id, i.role, i.status, `${i.used}/${i.uses}`, i.expiresAt, i.createdBy]))
}
