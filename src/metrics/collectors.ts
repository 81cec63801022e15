import { Counter, Gauge, type Registry } from 'prom-client'
import type { DnsCountersSnapshot } from '../dns/counters.js'
import { RRL_KINDS } from '../dns/rrl.js'

/** What one scrape reads from a node: plain data, taken once per scrape (see NodeMetrics). */
export interface NodeSnapshot {
  readonly self: { readonly name: string, readonly peerId: string, readonly platformId: string, readonly domain: string }
  /** Last applied revision of the platform log. */
  readonly revision: number
  readonly members: readonly MemberSnapshot[]
  /** Null on an observer (a node outside the writer set). */
  readonly writerSet: WriterSetSnapshot | null
  /** Entries replication refused, by reason. */
  readonly replicationDropped: Readonly<Record<string, number>>
  /** The last settings render; null before the platform has settings. */
  readonly settings: SettingsSnapshot | null
  /** Null when the node runs no DNS server (`--dns none`). */
  readonly dns: DnsCountersSnapshot | null
  /** Log compaction and snapshots; absent from snapshots built without it. */
  readonly compaction?: CompactionSnapshot
}

/** Compaction: where this node's logs start, its snapshot, its size on disk, snapshot transfers. */
export interface CompactionSnapshot {
  readonly logFirstRevision: number
  /** Index of the consensus log's latest snapshot; null on an observer. */
  readonly snapshotIndex: number | null
  readonly lastCompactionMs: number | null
  readonly diskBytes: number | null
  readonly snapshotsInstalled: number
  readonly snapshotsServed: number
  readonly snapshotsRefused: number
  /** Scheduled backups on this node: null when they are off. */
  readonly backup: { readonly lastMs: number | null, readonly stale: boolean } | null
}

export interface MemberSnapshot {
  readonly name: string
  readonly peerId: string
  readonly role: string
  readonly alive: boolean
  /** Revision in the member's last heartbeat; null before one was heard. */
  readonly revision: number | null
}

export interface WriterSetSnapshot {
  /** Consensus role: leader, follower, candidate or preCandidate. */
  readonly role: string
  readonly term: number
  /** Peer id of the leader this node knows of. */
  readonly leader: string | null
  readonly commit: number
  readonly applied: number
  readonly voters: readonly string[]
  readonly learners: readonly string[]
  /** Messages the writer set dropped, by reason. */
  readonly dropped: Readonly<Record<string, number>>
}

export interface SettingsSnapshot {
  /** State revision rendered. */
  readonly revision: number
  readonly failures: number
  readonly atMs: number
  readonly durationMs: number
}

/** Writer-set roles, each a series of `pryv_node_writer_set_role` (1 for the current one). */
export const WRITER_SET_ROLES = ['leader', 'follower', 'candidate', 'precandidate', 'none'] as const

/**
 * Registers the node's metrics on `registry`. Every value is read at scrape time from `read()`,
 * which must be cheap to call repeatedly within one scrape (NodeMetrics memoises it). Counters
 * mirror totals kept elsewhere, so they are rebuilt from the snapshot on each collect. A metric
 * without labels always has a sample (prom-client), so "not applicable" shows as 0; labelled
 * series appear only when they apply.
 */
export function registerNodeMetrics(registry: Registry, read: () => NodeSnapshot): void {
  const registers = [registry]
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (set: (labels: Partial<Record<L, string>>, value: number) => void, s: NodeSnapshot) => void): void => {
    new Counter<L>({
      name, help, labelNames, registers,
      collect() {
        this.reset()
        fill((labels, value) => this.inc(labels, value), read())
      }
    })
  }
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], fill: (set: (labels: Partial<Record<L, string>>, value: number) => void, s: NodeSnapshot) => void): void => {
    new Gauge<L>({
      name, help, labelNames, registers,
      collect() {
        this.reset()
        fill((labels, value) => this.set(labels, value), read())
      }
    })
  }
  const each = (record: Readonly<Record<string, number>> | undefined, set: (key: string, n: number) => void): void => {
    for (const [k, n] of Object.entries(record ?? {})) set(k, n)
  }

  // ----- the node and the platform log ------------------------------------------------------
  gauge('pryv_node_info', 'This node: name, peer id, platform id and domain (value 1).', ['name', 'peer_id', 'platform_id', 'domain'], (set, s) =>
    set({ name: s.self.name, peer_id: s.self.peerId, platform_id: s.self.platformId, domain: s.self.domain }, 1))
  gauge('pryv_node_state_revision', 'Last revision of the platform log applied on this node.', [], (set, s) => set({}, s.revision))

  // ----- members and liveness ---------------------------------------------------------------
  gauge('pryv_node_members', 'Members of the platform, by role (full, observer).', ['role'], (set, s) => {
    for (const [role, n] of countBy(s.members, () => true)) set({ role }, n)
  })
  gauge('pryv_node_members_alive', 'Members this node hears heartbeats from (itself included), by role.', ['role'], (set, s) => {
    for (const [role, n] of countBy(s.members, (m) => m.alive)) set({ role }, n)
  })
  gauge('pryv_node_member_alive', 'Liveness of each member as this node sees it: 1 alive, 0 not heard from.', ['member'], (set, s) => {
    for (const m of s.members) set({ member: m.name }, m.alive ? 1 : 0)
  })
  gauge('pryv_node_member_revision', 'Log revision each member last announced in its heartbeat (absent until one is heard).', ['member'], (set, s) => {
    for (const m of s.members) if (m.revision !== null) set({ member: m.name }, m.revision)
  })

  // ----- writer set -------------------------------------------------------------------------
  gauge('pryv_node_writer_set_role', 'This node\'s role in the writer set: 1 for the current role; "none" on an observer.', ['role'], (set, s) => {
    const current = s.writerSet ? s.writerSet.role.toLowerCase() : 'none'
    for (const role of WRITER_SET_ROLES) set({ role }, role === current ? 1 : 0)
  })
  gauge('pryv_node_writer_set_term', 'Current consensus term (0 on an observer).', [], (set, s) => {
    if (s.writerSet) set({}, s.writerSet.term)
  })
  gauge('pryv_node_writer_set_leader', 'The writer set\'s leader as this node knows it (value 1; absent while there is none).', ['member'], (set, s) => {
    if (s.writerSet?.leader) set({ member: memberName(s, s.writerSet.leader) }, 1)
  })
  gauge('pryv_node_writer_set_commit_index', 'Highest log index known to be committed (0 on an observer).', [], (set, s) => {
    if (s.writerSet) set({}, s.writerSet.commit)
  })
  gauge('pryv_node_writer_set_applied_index', 'Highest log index applied by the consensus driver (0 on an observer).', [], (set, s) => {
    if (s.writerSet) set({}, s.writerSet.applied)
  })
  gauge('pryv_node_writer_set_voters', 'Voters of the writer set, as this node\'s configuration says (0 on an observer).', [], (set, s) => {
    if (s.writerSet) set({}, s.writerSet.voters.length)
  })
  gauge('pryv_node_writer_set_learners', 'Learners of the writer set (0 on an observer).', [], (set, s) => {
    if (s.writerSet) set({}, s.writerSet.learners.length)
  })
  gauge('pryv_node_writer_set_voter', '1 when this node is a voter of the writer set, else 0.', [], (set, s) =>
    set({}, s.writerSet?.voters.includes(s.self.peerId) ? 1 : 0))
  counter('pryv_node_writer_set_dropped_total', 'Consensus messages the writer set dropped, by reason.', ['reason'], (set, s) =>
    each(s.writerSet?.dropped, (reason, n) => set({ reason }, n)))

  // ----- compaction and snapshots (src/node/compactor.ts, src/node/snapshot-transfer.ts) -----
  gauge('pryv_node_log_first_revision', 'First revision still held in this node\'s platform log (1 until the first compaction).', [], (set, s) => {
    if (s.compaction) set({}, s.compaction.logFirstRevision)
  })
  gauge('pryv_node_log_entries', 'Entries held in this node\'s platform log (the trailing window after a compaction).', [], (set, s) => {
    if (s.compaction) set({}, Math.max(0, s.revision - s.compaction.logFirstRevision + 1))
  })
  gauge('pryv_node_snapshot_index', 'Consensus log index of the latest snapshot (0 on an observer).', [], (set, s) => {
    if (s.compaction?.snapshotIndex != null) set({}, s.compaction.snapshotIndex)
  })
  gauge('pryv_node_last_compaction_timestamp_seconds', 'When the platform log was last compacted, in Unix seconds (0 before the first).', [], (set, s) => {
    if (s.compaction?.lastCompactionMs != null) set({}, s.compaction.lastCompactionMs / 1000)
  })
  gauge('pryv_node_state_disk_bytes', 'Size of the state database on disk (logs and state), measured every few seconds.', [], (set, s) => {
    if (s.compaction?.diskBytes != null) set({}, s.compaction.diskBytes)
  })
  counter('pryv_node_snapshots_total', 'State snapshots this node installed (after catching up), served to others, or refused (bad hash or signature).', ['outcome'], (set, s) => {
    if (!s.compaction) return
    set({ outcome: 'installed' }, s.compaction.snapshotsInstalled)
    set({ outcome: 'served' }, s.compaction.snapshotsServed)
    set({ outcome: 'refused' }, s.compaction.snapshotsRefused)
  })

  gauge('pryv_node_last_backup_timestamp_seconds', 'When this node made its last good scheduled backup, in Unix seconds (0 when scheduled backups are off or before the first).', [], (set, s) => {
    if (s.compaction?.backup) set({}, (s.compaction.backup.lastMs ?? 0) / 1000)
  })
  gauge('pryv_node_backup_stale', '1 when this node\'s last good scheduled backup is older than twice the interval (0 when scheduled backups are off).', [], (set, s) => {
    if (s.compaction?.backup) set({}, s.compaction.backup.stale ? 1 : 0)
  })

  // ----- replication and settings ---------------------------------------------------------
  counter('pryv_node_replication_dropped_total', 'Log entries replication refused (bad signature, not chained, ...), by reason.', ['reason'], (set, s) =>
    each(s.replicationDropped, (reason, n) => set({ reason }, n)))
  gauge('pryv_node_settings_rendered_revision', 'State revision of the last settings render (0 before the first).', [], (set, s) => {
    if (s.settings) set({}, s.settings.revision)
  })
  gauge('pryv_node_settings_render_failures', 'Failures (templates, runtime, restarts) of the last settings render; 0 when it succeeded.', [], (set, s) =>
    set({}, s.settings?.failures ?? 0))
  gauge('pryv_node_settings_last_render_timestamp_seconds', 'When the last settings render finished, in Unix seconds (0 before the first).', [], (set, s) => {
    if (s.settings) set({}, s.settings.atMs / 1000)
  })
  gauge('pryv_node_settings_last_render_duration_seconds', 'How long the last settings render took (0 before the first).', [], (set, s) => {
    if (s.settings) set({}, s.settings.durationMs / 1000)
  })

  // ----- DNS (src/dns/counters.ts; worker threads lag up to one second) -------------------
  gauge('pryv_dns_up', '1 when this node runs its DNS server, 0 with --dns none.', [], (set, s) => set({}, s.dns ? 1 : 0))
  counter('pryv_dns_queries_total', 'DNS questions that parsed, by QTYPE.', ['qtype'], (set, s) =>
    each(s.dns?.queriesByType, (qtype, n) => set({ qtype }, n)))
  counter('pryv_dns_responses_total', 'DNS replies sent (UDP and TCP), by RCODE (BADVERS included).', ['rcode'], (set, s) =>
    each(s.dns?.responsesByRcode, (rcode, n) => set({ rcode }, n)))
  counter('pryv_dns_weighted_answers_total', 'Answers for a weighted name (absolute, e.g. reg.<domain>) that contained the target (a member name), by name and target.', ['name', 'target'], (set, s) => {
    for (const [name, targets] of Object.entries(s.dns?.weightedAnswers ?? {})) {
      for (const [id, n] of Object.entries(targets)) set({ name, target: memberName(s, id) }, n)
    }
  })
  counter('pryv_dns_dropped_total', 'DNS requests not answered: runts, responses (QR=1), malformed beyond a reply, exceptions.', [], (set, s) =>
    set({}, s.dns?.dropped ?? 0))
  counter('pryv_dns_truncated_total', 'UDP replies sent with TC=1 because the answer did not fit (the client retries over TCP); rate-limit slips are counted apart.', [], (set, s) =>
    set({}, s.dns?.truncated ?? 0))
  counter('pryv_dns_rate_limited_total', 'UDP answers over the response rate limit, by answer kind (answer, nodata, nxdomain, error) and action (slip: sent truncated; drop: not sent).', ['kind', 'action'], (set, s) => {
    const r = s.dns?.rateLimited
    if (!r) return
    for (const kind of RRL_KINDS) {
      set({ kind, action: 'slip' }, r.slipped[kind])
      set({ kind, action: 'drop' }, r.dropped[kind])
    }
  })
  counter('pryv_dns_rate_limit_exempted_total', 'UDP answers over the response rate limit sent anyway: the client is in dns.rateLimitExempt.', [], (set, s) =>
    set({}, s.dns?.rateLimited?.exempted ?? 0))
  counter('pryv_dns_tcp_refused_total', 'DNS TCP connections closed on arrival: their client address already held dns.tcpConnectionsPerSource.', [], (set, s) =>
    set({}, s.dns?.tcpRefused ?? 0))
}

function countBy(members: readonly MemberSnapshot[], include: (m: MemberSnapshot) => boolean): Map<string, number> {
  const out = new Map<string, number>([['full', 0], ['observer', 0]])
  for (const m of members) if (include(m)) out.set(m.role, (out.get(m.role) ?? 0) + 1)
  return out
}

/** A member's name for a peer id; the id itself for anything else. */
function memberName(s: NodeSnapshot, peerId: string): string {
  return s.members.find((m) => m.peerId === peerId)?.name ?? peerId
}
