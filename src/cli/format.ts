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
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

export function formatStatus(s: Status): string {
  const rows = s.members.map((m) => [
    `${m.name}${m.self ? ' *' : ''}`,
    m.role + (m.writer ? ' (writer)' : ''),
    m.alive ? 'up' : 'down',
    m.lastSeenAgoMs === null ? '-' : m.self ? 'now' : `${(m.lastSeenAgoMs / 1000).toFixed(1)}s ago`,
    m.revision === null ? '-' : String(m.revision),
    m.addresses.join(' '),
    m.peerId
  ])
  return [
    `platform ${s.platform.id}  domain ${s.platform.domain}  revision ${s.revision} applied on ${s.appliedOn.count}/${s.appliedOn.of}`,
    `dns      ${s.dns.length > 0 ? s.dns.join(' ') : 'off'}`,
    '',
    table(['NAME', 'ROLE', 'STATE', 'LAST SEEN', 'REVISION', 'ADDRESSES', 'PEER ID'], rows),
    '',
    '* this node'
  ].join('\n')
}

interface InviteRow { id: string, role: string, status: string, used: number, uses: number, expiresAt: string, createdBy: string }

export function formatInviteList(list: InviteRow[]): string {
  if (list.length === 0) return 'No invites.'
  return table(['ID', 'ROLE', 'STATUS', 'USED', 'EXPIRES', 'CREATED BY'],
    list.map((i) => [i.id, i.role, i.status, `${i.used}/${i.uses}`, i.expiresAt, i.createdBy]))
}
