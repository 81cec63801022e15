import { randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ControlServer } from '../control/server.js'
import { ExitCode, OperatorError } from '../errors.js'
import type { Logger } from '../log.js'
import { createMesh, type MeshNode } from '../mesh/libp2p.js'
import { encodeInvite, newInviteSecret } from '../membership/invite.js'
import type { Command } from '../state/commands.js'
import { Replica } from '../state/replica.js'
import { StateStore } from '../state/store.js'
import type { MemberRole } from '../state/types.js'
import { type NodeContext, ownAddresses, topics } from './context.js'
import type { DataDir, NodeConfig } from './data-dir.js'
import { JoinService } from './join-service.js'
import { defaultTimings, Membership, type MembershipTimings } from './membership.js'
import { DnsService } from './dns-service.js'
import { Replication } from './replication.js'
import type { WriterSetPolicy } from './writer-set/policy.js'
import { WriterSet } from './writer-set/writer-set.js'
import { type LocalSettings, NO_LOCAL_SETTINGS } from './settings-local.js'
import { parseChangeRequest, parseDiffRequest, parseGetRequest, parseRollbackRequest, SettingsService } from './settings-service.js'
import { Writes } from './writes.js'
import { ServiceOps } from './service-ops.js'
import { ReleaseService } from './release-service.js'
import { NodeMetrics } from '../metrics/node-metrics.js'
import { CertsService } from './certs-service.js'

export interface PlatformNodeInit extends NodeRunOptions {
  readonly dataDir: DataDir
  readonly config: NodeConfig
  readonly identity: PrivateKey
}

/** How a node runs, whatever its data dir: logging, timings, policies, local settings, hooks. */
export interface NodeRunOptions {
  readonly log: Logger
  readonly timings?: MembershipTimings
  readonly writerSetPolicy?: Partial<WriterSetPolicy>
  /** Called after a fatal failure (the CLI exits non-zero so a supervisor restarts the node). */
  readonly onFatal?: (err: unknown) => void
  /** Called once this node has left the platform (`pryv-node leave`). */
  readonly onLeft?: () => void
  /** Local settings layers (env, --set) and how services run; none by default. */
  readonly settings?: LocalSettings
  /** `host:port` (loopback) to serve Prometheus metrics on; none when absent. */
  readonly metricsListen?: string
}

export interface InviteOptions {
  readonly role: MemberRole
  readonly ttlMs: number
  readonly uses: number
}

/**
 * One running node: its state store and replica, the mesh, and the services built on them.
 * Lifecycle: `start()` brings everything up or fails having started nothing; `stop()` is graceful
 * and idempotent.
 */
export class PlatformNode {
  readonly selfId: string
  readonly ctx: NodeContext
  readonly writes: Writes
  readonly replication: Replication
  readonly membership: Membership
  readonly dns: DnsService
  readonly settings: SettingsService
  readonly serviceOps: ServiceOps
  readonly releases: ReleaseService
  readonly metrics: NodeMetrics
  readonly certs: CertsService
  private readonly control: ControlServer
  private stopped = false
  private writerSet?: WriterSet
  private addressRefresh?: NodeJS.Timeout
  private refreshingAddresses = false

  private constructor(private readonly init: PlatformNodeInit, readonly store: StateStore, readonly mesh: MeshNode, readonly replica: Replica) {
    this.selfId = peerIdFromPrivateKey(init.identity).toString()
    const started = performance.now()
    this.ctx = {
      config: init.config,
      identity: init.identity,
      selfId: this.selfId,
      mesh,
      replica,
      log: init.log,
      now: () => Date.now(),
      monotonic: () => performance.now() - started
    }
    this.replication = new Replication(this.ctx, store)
    this.membership = new Membership(this.ctx, init.timings ?? defaultTimings)
    this.writes = new Writes(this.ctx, this.membership)
    this.membership.onBehind = (peerId, revision) => void this.replication.catchUp([peerId], revision)
    this.dns = new DnsService(this.ctx, this.membership)
    this.settings = new SettingsService(this.ctx, init.dataDir.path, init.settings ?? NO_LOCAL_SETTINGS, (command) => this.submit(command), (peerId) => this.membership.view(peerId).alive)
    this.membership.unhealthyServices = () => this.settings.unhealthyServices()
    this.serviceOps = new ServiceOps(this.ctx, () => this.settings.runtimeInstance())
    this.metrics = new NodeMetrics(this, init.metricsListen)
    this.releases = new ReleaseService(this.ctx, this.settings, () => this.settings.runtimeInstance(), (command) => this.submit(command), (peerId) => this.membership.view(peerId).alive)
    this.certs = new CertsService(this.ctx, this.membership, init.dataDir.path, (command) => this.submit(command), () => this.dns.bound)
    this.control = new ControlServer(init.dataDir.controlSocket, {
      ...this.serviceOps.handlers(),
      ...this.certs.handlers(),
      ...this.metrics.handlers(),
      ...this.releases.handlers(),
      status: async () => this.status(),
      'invite.create': async (p) => this.createInvite(parseInviteOptions(p)),
      'invite.list': async () => this.listInvites(),
      'invite.revoke': async (p) => this.revokeInvite(String(p.id ?? '')),
      'dns.users.set': async (p) => this.submit({ kind: 'dns.users.set', users: p.users as Record<string, string> }),
      'dns.users.remove': async (p) => this.submit({ kind: 'dns.users.remove', usernames: p.usernames as string[] }),
      'dns.users.get': async (p) => {
        if (p.consistent === true) await this.submit({ kind: 'read.barrier' })
        return this.dnsUsers(p.usernames as string[] | undefined)
      },
      'acme.set': async (p) => this.submit({ kind: 'acme.set', name: String(p.name), value: String(p.value), expiresAt: Date.now() + Number(p.ttlMs ?? 600_000) }),
      'acme.remove': async (p) => this.submit({ kind: 'acme.remove', name: String(p.name), value: p.value === undefined ? undefined : String(p.value) }),
      'dns.counters': async () => this.dns.counters() ?? null,
      'members.role': async (p) => this.submit({ kind: 'member.role', peerId: this.memberByName(p.name).peerId, role: p.role === 'full' ? 'full' : 'observer' }),
      'members.remove': async (p) => this.submit({ kind: 'member.remove', peerId: this.memberByName(p.name).peerId }),
      leave: async () => this.leave(),
      'settings.get': async (p) => this.settings.get(parseGetRequest(p)),
      'settings.schema': async () => this.settings.schemaDef(),
      'settings.change': async (p) => this.settings.change(parseChangeRequest(p)),
      'settings.rollback': async (p) => this.settings.rollback(parseRollbackRequest(p)),
      'settings.history': async () => this.settings.history(),
      'settings.diff': async (p) => this.settings.diff(parseDiffRequest(p))
    }, init.log)
  }

  /** Opens the store and starts every part; on failure, stops what was started and rethrows. */
  static async start(init: PlatformNodeInit): Promise<PlatformNode> {
    const store = await StateStore.open(init.dataDir.stateDir)
    let mesh: MeshNode | undefined
    let node: PlatformNode | undefined
    try {
      const state = await store.loadState()
      const replica = new Replica(state, store, init.config.platformId)
      mesh = await createMesh({
        privateKey: init.identity,
        platformKeyHex: init.config.platformKeyHex,
        listen: init.config.listen,
        announce: init.config.announce,
        guardedTopics: [topics.log(init.config.platformId), topics.heartbeat(init.config.platformId)]
      })
      node = new PlatformNode(init, store, mesh, replica)
      await node.startParts()
      return node
    } catch (err) {
      // A part that fails late leaves earlier ones running (DNS threads, services): stop them all.
      if (node) await node.stop().catch(() => undefined)
      else {
        await mesh?.stop()
        await store.close()
      }
      throw err
    }
  }

  private async startParts(): Promise<void> {
    try {
      await this.mesh.start()
    } catch (err) {
      throw listenError(err, this.init.config.listen)
    }
    await this.replication.start()
    await this.writes.start()
    await new JoinService(this.ctx, this.writes).start()
    this.membership.start()
    if (this.replica.state.members.get(this.selfId)?.role === 'full') await this.startWriterSet(false)
    this.replica.on('applied', (_entry, command) => {
      if ((command.kind === 'member.role' || command.kind === 'member.remove') && command.peerId === this.selfId) {
        void this.followOwnRole().catch((err) => this.fatal(err))
        if (command.kind === 'member.remove') this.init.log.warn('this node was removed from the platform')
      }
    })
    await this.dns.start(this.init.config.dns)
    await this.settings.start()
    await this.serviceOps.start()
    await this.releases.start()
    await this.certs.start()
    await this.metrics.start()
    this.addressRefresh = setInterval(() => void this.refreshOwnAddresses(), 5000)
    this.addressRefresh.unref()
    await this.control.start()
    this.init.log.info({ name: this.init.config.name, peerId: this.selfId, addresses: this.mesh.getMultiaddrs().map(String), revision: this.replica.revision }, 'node started')
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.addressRefresh)
    // First, so a leader hands over while the mesh is still up.
    await this.writerSet?.stop()
    this.writes.stop()
    this.membership.stop()
    await this.control.stop()
    this.certs.stop()
    await this.metrics.stop()
    await this.serviceOps.stop()
    await this.dns.stop()
    await this.settings.stop()
    await this.mesh.stop()
    await this.store.close()
    this.init.log.info({ name: this.init.config.name }, 'node stopped')
  }

  /**
   * Creates the platform's first entry: this node starts the writer set as its only voter, then
   * founds the platform and becomes its first member.
   */
  async found(): Promise<void> {
    await this.startWriterSet(true)
    await this.writes.proposeAsLeader({
      kind: 'platform.create',
      id: this.init.config.platformId,
      domain: this.init.config.domain,
      founder: { peerId: this.selfId, name: this.init.config.name, role: 'full', addresses: this.addresses() }
    })
  }

  private memberByName(name: unknown): { peerId: string } {
    const m = [...this.replica.state.members.values()].find((x) => x.name === name)
    if (!m) throw new OperatorError('PRYV_NOT_A_MEMBER', `No member is named "${String(name)}".`, { hint: 'See the members with `pryv-node status`.', exitCode: ExitCode.conflict })
    return m
  }

  /** Leaves the platform gracefully: hands leadership over, removes this member, then stops. */
  private async leave(): Promise<unknown> {
    await this.writerSet?.transferLeadership(2000)
    const out = await this.submit({ kind: 'member.remove', peerId: this.selfId })
    setTimeout(() => this.init.onLeft?.(), 200).unref()
    return out
  }

  /** Follows this node's own role: a full member takes part in the writer set, an observer does not. */
  private async followOwnRole(): Promise<void> {
    const role = this.replica.state.members.get(this.selfId)?.role
    if (role === 'full' && !this.writerSet) await this.startWriterSet(false)
    else if (role !== 'full' && this.writerSet) {
      const ws = this.writerSet
      this.writerSet = undefined
      this.writes.detach()
      await ws.stop()
    }
  }

  /** Full nodes take part in the writer set; a node that just joined as a full member starts it here. */
  async startWriterSet(bootstrap: boolean): Promise<void> {
    if (this.writerSet) return
    const writerSet = await WriterSet.open(this.ctx, this.store, this.membership, {
      publish: (entry) => this.replication.publish(entry),
      policy: this.init.writerSetPolicy,
      onFatal: (err) => this.fatal(err)
    }, bootstrap)
    await writerSet.start()
    this.writerSet = writerSet
    this.writes.attach(writerSet)
  }

  /** A failure that makes it unsafe to go on (disk full, diverged log): stop, to restart from disk. */
  private fatal(err: unknown): void {
    this.init.log.fatal({ err: (err as Error).message }, 'stopping: the node cannot safely continue (check free disk space and the logs, then restart it)')
    this.init.onFatal?.(err)
  }

  addresses(): string[] {
    return ownAddresses(this.mesh)
  }

  /**
   * Keeps this node's member record pointing at where it listens now (ports may change across
   * restarts), so members that start later can still find it without its heartbeats.
   */
  private async refreshOwnAddresses(): Promise<void> {
    const record = this.replica.state.members.get(this.selfId)
    const current = this.addresses()
    if (!record || this.refreshingAddresses || sameSet(record.addresses, current)) return
    this.refreshingAddresses = true
    try {
      await this.submit({ kind: 'member.addresses', peerId: this.selfId, addresses: current })
    } catch (err) {
      this.init.log.debug({ err: (err as Error).message }, 'cannot update this member\'s addresses yet')
    } finally {
      this.refreshingAddresses = false
    }
  }

  async submit(command: Command): Promise<unknown> {
    const { revision, result } = await this.writes.submit(command)
    if (!result.ok) throw new OperatorError(result.code, `${result.message[0]?.toUpperCase()}${result.message.slice(1)}.`, { exitCode: ExitCode.conflict })
    return { revision, value: result.value }
  }

  async createInvite(opts: InviteOptions): Promise<{ invite: string, id: string, role: MemberRole, expiresAt: string, uses: number }> {
    const { inviteId, token, tokenHash } = newInviteSecret()
    const expiresAt = Date.now() + opts.ttlMs
    await this.submit({ kind: 'invite.create', id: inviteId, tokenHash, role: opts.role, expiresAt, uses: opts.uses })
    const invite = encodeInvite({
      platformId: this.init.config.platformId,
      domain: this.init.config.domain,
      platformKeyHex: this.init.config.platformKeyHex,
      addresses: this.inviteAddresses(),
      inviteId,
      token,
      expiresAt,
      role: opts.role
    })
    return { invite, id: inviteId, role: opts.role, expiresAt: new Date(expiresAt).toISOString(), uses: opts.uses }
  }

  /** Full members that are up, this node first: a joiner may use any of them. */
  private inviteAddresses(): string[] {
    const state = this.replica.state
    const full = [...state.members.values()]
      .filter((m) => m.role === 'full' && this.membership.view(m.peerId).alive)
      .sort((a, b) => (a.peerId === this.selfId ? -1 : b.peerId === this.selfId ? 1 : a.name.localeCompare(b.name)))
    const out: string[] = []
    for (const m of full.slice(0, 5)) {
      const addrs = m.peerId === this.selfId ? this.addresses() : m.addresses
      for (const a of addrs) out.push(`${a}/p2p/${m.peerId}`)
    }
    return out
  }

  /** The core of each named user (all users when none is named), and which are unknown. */
  dnsUsers(usernames?: readonly string[]): { users: Record<string, string>, unknown: string[] } {
    const all = this.replica.state.dnsUsers
    if (!usernames || usernames.length === 0) return { users: Object.fromEntries(all), unknown: [] }
    const users: Record<string, string> = {}
    const unknown: string[] = []
    for (const u of usernames) {
      const core = all.get(u)
      if (core === undefined) unknown.push(u)
      else users[u] = core
    }
    return { users, unknown }
  }

  listInvites(): unknown[] {
    const now = Date.now()
    return [...this.replica.state.invites.values()].map((i) => ({
      id: i.id,
      role: i.role,
      createdAt: new Date(i.createdAt).toISOString(),
      createdBy: this.replica.state.members.get(i.createdBy)?.name ?? i.createdBy,
      expiresAt: new Date(i.expiresAt).toISOString(),
      uses: i.uses,
      used: i.usedBy.length,
      status: i.revoked ? 'revoked' : i.usedBy.length >= i.uses ? 'used' : i.expiresAt <= now ? 'expired' : 'active'
    }))
  }

  async revokeInvite(id: string): Promise<unknown> {
    if (!id) throw new OperatorError('PRYV_USAGE', 'Name the invite to revoke.', { exitCode: ExitCode.usage })
    return this.submit({ kind: 'invite.revoke', id })
  }

  status(): Record<string, unknown> {
    const state = this.replica.state
    const members = [...state.members.values()].map((m) => {
      const live = this.membership.view(m.peerId)
      return {
        name: m.name,
        peerId: m.peerId,
        role: m.role,
        writer: state.writers.includes(m.peerId),
        self: m.peerId === this.selfId,
        addresses: m.peerId === this.selfId ? this.addresses() : (live.lastHeartbeat?.addresses ?? m.addresses),
        alive: live.alive,
        lastSeenAgoMs: live.lastSeenAgoMs === undefined ? null : Math.round(live.lastSeenAgoMs),
        revision: live.lastHeartbeat?.revision ?? null,
        joinedAt: new Date(m.joinedAt).toISOString()
      }
    }).sort((a, b) => a.name.localeCompare(b.name))
    return {
      platform: { id: this.init.config.platformId, domain: this.init.config.domain },
      self: { name: this.init.config.name, peerId: this.selfId },
      revision: state.revision,
      appliedOn: { count: members.filter((m) => m.revision !== null && m.revision >= state.revision).length, of: members.length },
      members,
      dns: this.dns.bound,
      writerSet: this.writerSet?.status() ?? null,
      settings: this.settings.status(),
      dropped: this.replication.dropped,
      certs: { warnings: this.certs.warnings() }
    }
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x))
}

function parseInviteOptions(p: Record<string, unknown>): InviteOptions {
  const role = p.role ?? 'full'
  if (role !== 'full' && role !== 'observer') throw new OperatorError('PRYV_USAGE', `Unknown role "${String(role)}": use full or observer.`, { exitCode: ExitCode.usage })
  const ttlMs = Number(p.ttlMs ?? 3_600_000)
  const uses = Number(p.uses ?? 1)
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1000) throw new OperatorError('PRYV_USAGE', 'The invite lifetime must be at least one second.', { exitCode: ExitCode.usage })
  if (!Number.isSafeInteger(uses) || uses < 1 || uses > 1000) throw new OperatorError('PRYV_USAGE', 'The number of uses must be between 1 and 1000.', { exitCode: ExitCode.usage })
  return { role, ttlMs, uses }
}

function listenError(err: unknown, listen: readonly string[]): OperatorError {
  const text = `${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`
  if (/EADDRINUSE/.test(text)) {
    return new OperatorError('PRYV_PORT_IN_USE', `The mesh address ${listen.join(', ')} is already in use.`, {
      hint: 'Stop what uses that port, or choose another one with --listen.',
      exitCode: ExitCode.environment,
      cause: err
    })
  }
  if (/EADDRNOTAVAIL|EACCES/.test(text)) {
    return new OperatorError('PRYV_LISTEN_FAILED', `Cannot listen on ${listen.join(', ')}: ${(err as Error).message}.`, {
      hint: 'Use an address of this machine and a port this user may open (--listen).',
      exitCode: ExitCode.environment,
      cause: err
    })
  }
  return new OperatorError('PRYV_LISTEN_FAILED', `The mesh could not start: ${(err as Error).message}.`, { exitCode: ExitCode.environment, cause: err })
}

export function newPlatformId(): string {
  return randomBytes(8).toString('hex')
}
