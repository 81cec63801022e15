import { randomBytes } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ControlServer } from '../control/server.js'
import { ExitCode, OperatorError } from '../errors.js'
import type { Logger } from '../log.js'
import { PlatformKeyring } from '../mesh/keys.js'
import { createMesh, type MeshNode } from '../mesh/libp2p.js'
import { hostOf } from '../mesh/stranger-limiter.js'
import { encodeInvite, newInviteSecret } from '../membership/invite.js'
import type { Command } from '../state/commands.js'
import { Replica } from '../state/replica.js'
import { StateStore } from '../state/store.js'
import type { MemberRole } from '../state/types.js'
import { type NodeContext, ownAddresses, topics } from './context.js'
import { sameSet } from '../membership/address-book.js'
import type { DataDir, NodeConfig } from './data-dir.js'
import { JoinService } from './join-service.js'
import { KeyRotation } from './key-rotation.js'
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
import { NodeMetrics } from './node-metrics.js'
import { type RolloutPresence, rolloutPresence } from './rollout-presence.js'
import { RegistryService } from './registry-service.js'
import { WatchService } from '../watch/service.js'
import { Compactor } from './compactor.js'
import { encodeSnapshot } from '../state/snapshot.js'
import { BackupScheduler } from './backup-scheduler.js'
import { type BackupWritten, parseBackupWriteRequest, writeBackup } from '../backup/write.js'
import { StorageSettings } from './storage-settings.js'
import { currentActor } from '../admin/actor.js'
import type { AdminAddress } from '../admin/listen.js'
import { AdminServer } from '../admin/server.js'
import type { ControlHandler } from '../control/server.js'
import { CertsService } from './certs-service.js'
import { Reachability } from './reachability.js'
import { compareText } from '../text-order.js'

/** How long a full member goes without committed entries from the consensus log before it follows the log topic again. */
const COMMIT_SOURCE_GRACE_MS = 3000

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
  /** `host:port` (loopback) to serve the register API on (`--register`); none when absent. */
  readonly registerListen?: string
  /** Where to serve the admin app and API; none when absent. `explicit: false` (the default address): a port in use is only a warning. */
  readonly admin?: { readonly address: AdminAddress, readonly explicit: boolean }
  /** Mesh addresses of members to dial while none this node knows answers (`start --peer`: they all moved). */
  readonly peers?: readonly string[]
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
  readonly joins: JoinService
  readonly keyRotation: KeyRotation
  readonly registry: RegistryService
  readonly compactor: Compactor
  /** Scheduled backups, on when the node's settings (backup.*) turn them on. */
  readonly backups: BackupScheduler
  /** Applies storage.* and backup.* to the compactor and the backups, without restart. */
  private readonly storageSettings: StorageSettings
  readonly admin: AdminServer
  /** The watch API: each service's settings, on its own socket and on loopback HTTP (src/watch). */
  readonly watch: WatchService
  /** Every operation of the node, by name: the control socket serves them all, the admin API those with a permission. */
  readonly operations: Readonly<Record<string, ControlHandler>>
  readonly certs: CertsService
  /** Other members dial this node's advertised addresses for `doctor`. */
  readonly reachability: Reachability
  private readonly control: ControlServer
  private stopped = false
  private hasLeft = false
  private writerSet?: WriterSet
  private writerSetStarting?: Promise<void>
  private addressRefresh?: NodeJS.Timeout
  private commitSourceCheck?: NodeJS.Timeout
  private refreshingAddresses = false

  private constructor(private readonly init: PlatformNodeInit, readonly store: StateStore, readonly mesh: MeshNode, readonly replica: Replica, readonly keyring: PlatformKeyring) {
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
      monotonic: () => performance.now() - started,
      platformKey: () => keyring.current
    }
    this.replication = new Replication(this.ctx, store)
    this.compactor = new Compactor(this.ctx, store, init.dataDir.stateDir, () => this.writerSet)
    this.backups = new BackupScheduler(this.ctx, store, init.settings?.env ?? {}, () => this.writerSet?.isLeader() ?? false)
    this.membership = new Membership(this.ctx, init.timings ?? defaultTimings)
    this.writes = new Writes(this.ctx, this.membership)
    this.membership.onBehind = (peerId, revision) => void this.replication.catchUp([peerId], revision)
    this.dns = new DnsService(this.ctx, this.membership)
    const presence = (peerId: string): RolloutPresence => rolloutPresence(this.membership.view(peerId), this.ctx.monotonic())
    this.settings = new SettingsService(this.ctx, init.dataDir.path, init.settings ?? NO_LOCAL_SETTINGS, (command) => this.submit(command), presence)
    this.membership.unhealthyServices = () => this.settings.unhealthyServices()
    this.watch = new WatchService(init.dataDir.path, this.ctx.log)
    this.settings.watchSettings((update) => this.watch.update(update))
    this.joins = new JoinService(this.ctx, this.writes, keyring, (host) => memberHosts(replica).has(host))
    this.membership.joinAddresses = () => this.joins.addresses()
    this.membership.seeds = init.peers ?? []
    this.keyRotation = new KeyRotation(this.ctx, keyring, init.dataDir, this.membership, (command) => this.writes.submit(command))
    this.serviceOps = new ServiceOps(this.ctx, () => this.settings.runtimeInstance())
    this.metrics = new NodeMetrics(this, init.metricsListen)
    this.releases = new ReleaseService(this.ctx, this.settings, () => this.settings.runtimeInstance(), (command) => this.submit(command), presence)
    this.registry = new RegistryService(this.ctx, (command) => this.writes.submit(command), init.registerListen)
    this.certs = new CertsService(this.ctx, this.membership, init.dataDir.path, (command) => this.submit(command), () => this.dns.bound)
    this.admin = new AdminServer(this, init.admin?.address, init.dataDir.path, () => this.operations)
    this.reachability = new Reachability(this.ctx, this.membership, () => ({ join: this.joins.addresses(), dns: this.dns.bound }))
    this.storageSettings = new StorageSettings(this.ctx, () => this.settings.effectiveValues(), { compactor: this.compactor, backups: this.backups })
    this.operations = {
      ...this.admin.accounts.handlers(),
      ...this.serviceOps.handlers(),
      ...this.certs.handlers(),
      ...this.metrics.handlers(),
      ...this.releases.handlers(),
      ...this.keyRotation.handlers(),
      ...this.registry.handlers(),
      ...this.reachability.handlers(),
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
      'acme.list': async () => this.acmeChallenges(),
      'acme.remove': async (p) => this.submit({ kind: 'acme.remove', name: String(p.name), value: p.value === undefined ? undefined : String(p.value) }),
      'dns.counters': async () => this.dns.counters() ?? null,
      'members.role': async (p) => this.submit({ kind: 'member.role', peerId: this.memberByName(p.name).peerId, role: p.role === 'full' ? 'full' : 'observer' }),
      'members.remove': async (p) => this.submit({ kind: 'member.remove', peerId: this.memberByName(p.name).peerId }),
      leave: async () => this.leave(),
      'settings.get': async (p) => {
        const request = parseGetRequest(p)
        if (p.consistent === true) await this.submit({ kind: 'read.barrier' })
        return this.settings.get(request)
      },
      'settings.schema': async () => this.settings.schemaDef(),
      'settings.change': async (p) => this.settings.change(parseChangeRequest(p)),
      'settings.rollback': async (p) => this.settings.rollback(parseRollbackRequest(p)),
      'settings.history': async (p) => this.settings.history({ reports: p.reports !== false }),
      'settings.diff': async (p) => this.settings.diff(parseDiffRequest(p)),
      'backup.snapshot': async () => this.backupSnapshot(),
      'backup.write': async (p) => this.writeBackup(parseBackupWriteRequest(p))
    }
    this.control = new ControlServer(init.dataDir.controlSocket, this.operations, init.log)
  }

  /** Opens the store and starts every part; on failure, stops what was started and rethrows. */
  static async start(init: PlatformNodeInit): Promise<PlatformNode> {
    const store = await StateStore.open(init.dataDir.stateDir)
    let mesh: MeshNode | undefined
    let node: PlatformNode | undefined
    try {
      const state = await store.loadState()
      const replica = new Replica(state, store, init.config.platformId)
      // A joining node has no key yet (it comes in the join reply) and no members yet: it admits any
      // peer holding the key until it knows the members; every other node admits members only.
      const keyring = new PlatformKeyring(init.config.platformKeyHex || undefined, init.config.acceptedKeysHex)
      mesh = await createMesh({
        privateKey: init.identity,
        keyring,
        admits: (peerId) => replica.state.members.size === 0 || replica.state.members.has(peerId),
        isMemberHost: (host) => memberHosts(replica).has(host),
        listen: init.config.listen,
        announce: init.config.announce,
        guardedTopics: [topics.log(init.config.platformId), topics.liveness(init.config.platformId)]
      })
      node = new PlatformNode(init, store, mesh, replica, keyring)
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
    await this.compactor.start()
    this.backups.start()
    this.replica.on('installed', () => {
      void this.compactor.refresh()
      void this.followOwnRole().catch((err) => this.fatal(err))
    })
    await this.writes.start()
    await this.joins.start()
    this.keyRotation.start()
    this.membership.start()
    if (this.replica.state.members.get(this.selfId)?.role === 'full') await this.startWriterSet(false)
    this.replica.on('applied', (entry, command) => {
      if ((command.kind === 'member.role' || command.kind === 'member.remove') && command.peerId === this.selfId) {
        void this.followOwnRole().catch((err) => this.fatal(err))
        if (command.kind === 'member.remove') {
          this.init.log.warn('this node was removed from the platform: it stops')
          void this.left(entry.revision).catch((err) => this.fatal(err))
        }
      }
    })
    await this.dns.start(this.init.config.dns)
    await this.settings.start()
    await this.storageSettings.start()
    await this.serviceOps.start()
    await this.releases.start()
    await this.certs.start()
    await this.metrics.start()
    await this.registry.start()
    await this.reachability.start()
    this.addressRefresh = setInterval(() => void this.refreshOwnAddresses(), 5000)
    this.addressRefresh.unref()
    await this.control.start()
    await this.startAdmin()
    this.init.log.info({ name: this.init.config.name, peerId: this.selfId, addresses: this.mesh.getMultiaddrs().map(String), revision: this.replica.revision }, 'node started')
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearInterval(this.addressRefresh)
    clearInterval(this.commitSourceCheck)
    // First, so a leader hands over while the mesh is still up.
    await this.writerSet?.stop()
    this.writes.stop()
    this.membership.stop()
    await this.admin.stop()
    this.storageSettings.stop()
    this.compactor.stop()
    this.backups.stop()
    await this.control.stop()
    await this.joins.stop()
    this.keyRotation.stop()
    await this.registry.stop()
    await this.reachability.stop()
    this.certs.stop()
    await this.metrics.stop()
    await this.serviceOps.stop()
    await this.dns.stop()
    await this.settings.stop()
    await this.watch.stop()
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

  /**
   * Leaves the platform gracefully, whatever this node's role: hands leadership over, removes this
   * member, then stops. It returns once the removal is committed: the members stop talking to a
   * node that is no longer one, so it may never apply its own removal.
   */
  private async leave(): Promise<unknown> {
    await this.writerSet?.transferLeadership(2000)
    const out = await this.submit({ kind: 'member.remove', peerId: this.selfId }, false) as { revision: number }
    await this.left(out.revision)
    return out
  }

  /** This node is no longer a member: the data dir remembers it (a later start refuses) and the run ends. */
  private async left(revision: number): Promise<void> {
    if (this.hasLeft) return
    this.hasLeft = true
    await this.init.dataDir.markLeft({ revision, at: new Date().toISOString() })
    setTimeout(() => this.init.onLeft?.(), 200).unref()
  }

  /** Follows this node's own role: a full member takes part in the writer set, an observer does not. */
  private async followOwnRole(): Promise<void> {
    const role = this.replica.state.members.get(this.selfId)?.role
    if (role === 'full' && !this.writerSet) await this.startWriterSet(false)
    else if (role !== 'full' && this.writerSet) {
      const ws = this.writerSet
      this.writerSet = undefined
      this.writes.detach()
      clearInterval(this.commitSourceCheck)
      this.replication.followTopic(true)
      await ws.stop()
    }
  }

  /** Full nodes take part in the writer set; a node that just joined as a full member starts it here. */
  async startWriterSet(bootstrap: boolean): Promise<void> {
    if (this.writerSet) return
    // Callers may overlap (a join, and a snapshot installed during it): one writer set only.
    this.writerSetStarting ??= this.openWriterSet(bootstrap).finally(() => { this.writerSetStarting = undefined })
    return this.writerSetStarting
  }

  private async openWriterSet(bootstrap: boolean): Promise<void> {
    const writerSet = await WriterSet.open(this.ctx, this.store, this.membership, {
      publish: (entry) => this.replication.publish(entry),
      policy: this.init.writerSetPolicy,
      onFatal: (err) => this.fatal(err),
      fetchSnapshot: (minRevision, preferred) => this.replication.snapshots.fetch(minRevision, [...new Set([...preferred, ...this.replica.state.writers])])
    }, bootstrap)
    await writerSet.start()
    this.writerSet = writerSet
    this.writes.attach(writerSet)
    this.followCommitSource()
  }

  /**
   * A full member takes committed entries from the consensus log once the leader sends them there
   * (then the gossiped copy is not needed), and from the log topic while it does not: before the
   * leader adds it, or once it has been without a leader or out of the configuration for a few seconds
   * (not for an election's blink). Rechecked every second.
   */
  private followCommitSource(): void {
    clearInterval(this.commitSourceCheck)
    let notReceivingSince: number | null = null
    const check = (): void => {
      if (this.writerSet?.receivesCommits()) {
        notReceivingSince = null
        this.replication.followTopic(false)
      } else {
        notReceivingSince ??= Date.now()
        if (Date.now() - notReceivingSince >= COMMIT_SOURCE_GRACE_MS) this.replication.followTopic(true)
      }
    }
    check()
    this.commitSourceCheck = setInterval(check, 1000)
    this.commitSourceCheck.unref()
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

  /** How many members restart at once in a rollout (--restart-budget), for the admin app's rollout view. */
  get restartBudget(): number | undefined {
    return this.init.settings?.restartBudget
  }

  /** The admin server; at the default address, a port in use (another node on this machine) is only a warning. */
  private async startAdmin(): Promise<void> {
    try {
      await this.admin.start()
    } catch (err) {
      if (this.init.admin?.explicit !== false || (err as OperatorError).code !== 'PRYV_PORT_IN_USE') throw err
      this.init.log.warn({ err: (err as Error).message }, 'the admin app is not served: its default address is in use (choose one with --admin)')
    }
  }

  async submit(command: Command, waitApplied = true): Promise<unknown> {
    // Writes made through the admin API carry their account or token, for the audit trail.
    const actor = currentActor()
    const { revision, result } = await this.writes.submit(actor ? { ...command, actor } as unknown as Command : command, waitApplied)
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
      addresses: this.inviteAddresses(),
      inviteId,
      token,
      expiresAt,
      role: opts.role
    })
    return { invite, id: inviteId, role: opts.role, expiresAt: new Date(expiresAt).toISOString(), uses: opts.uses }
  }

  /** Join endpoints of full members that are up, this node first: a joiner may use any of them. */
  private inviteAddresses(): string[] {
    const state = this.replica.state
    const full = [...state.members.values()]
      .filter((m) => m.role === 'full' && this.membership.view(m.peerId).alive)
      .sort((a, b) => (a.peerId === this.selfId ? -1 : b.peerId === this.selfId ? 1 : compareText(a.name, b.name)))
    const out: string[] = []
    for (const m of full.slice(0, 5)) {
      const addrs = m.peerId === this.selfId ? this.joins.addresses() : (this.membership.view(m.peerId).lastHeartbeat?.joinAddresses ?? [])
      for (const a of addrs) out.push(`${a}/p2p/${m.peerId}`)
    }
    // An observer with no full member in sight serves the join itself (it forwards it to the writers).
    return out.length > 0 ? out : this.joins.addresses().map((a) => `${a}/p2p/${this.selfId}`)
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

  /** The ACME challenges served now (expired ones are no longer answered). */
  acmeChallenges(): unknown[] {
    const now = Date.now()
    return [...this.replica.state.acmeChallenges.values()].filter((c) => c.expiresAt > now)
      .sort((a, b) => compareText(a.name, b.name) || compareText(a.value, b.value))
      .map((c) => ({ name: c.name, value: c.value, expiresAt: new Date(c.expiresAt).toISOString() }))
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

  /**
   * For `pryv-node backup` (local admin only, over the control socket): the state at one revision,
   * read from a consistent LevelDB snapshot while writes go on, with what a restore needs besides.
   */
  async backupSnapshot(): Promise<Record<string, unknown>> {
    const { bytes, header } = encodeSnapshot(this.init.config.platformId, await this.store.exportState())
    const { platformId, domain, name } = this.init.config
    // The keyring, not the config: a node that joined, or lived through a key rotation, started with another key.
    const platformKeyHex = this.ctx.platformKey()
    return { platformId, domain, platformKeyHex, node: name, revision: header.revision, snapshot: bytes.toString('base64') }
  }

  /** For `pryv-node backup` (local admin only, over the control socket): the node writes the file itself. */
  async writeBackup(request: { file: string, key: string }): Promise<BackupWritten> {
    const { platformId, domain, name } = this.init.config
    return writeBackup(this.store, { platformId, domain, node: name, platformKeyHex: this.ctx.platformKey() }, request.file, request.key, { replace: false })
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
        recordedAddresses: m.addresses,
        alive: live.alive,
        lastSeenAgoMs: live.lastSeenAgoMs === undefined ? null : Math.round(live.lastSeenAgoMs),
        revision: live.lastHeartbeat?.revision ?? null,
        version: live.lastHeartbeat?.version ?? null,
        clockOffsetMs: m.peerId === this.selfId ? 0 : (this.membership.clockOffsetMs(m.peerId) ?? null),
        joinedAt: new Date(m.joinedAt).toISOString()
      }
    }).sort((a, b) => compareText(a.name, b.name))
    return {
      platform: { id: this.init.config.platformId, domain: this.init.config.domain },
      self: { name: this.init.config.name, peerId: this.selfId },
      revision: state.revision,
      appliedOn: { count: members.filter((m) => m.revision !== null && m.revision >= state.revision).length, of: members.length },
      members,
      dns: this.dns.bound,
      writerSet: this.writerSet?.status() ?? null,
      settings: this.settings.status(),
      mesh: this.keyRotation.status(),
      reach: this.membership.reach(),
      compaction: { ...this.compactor.status(), snapshot: this.writerSet?.snapshotStatus() ?? null, transfers: this.replication.snapshots.stats },
      backups: this.backups.status(),
      admin: this.admin.status(),
      watch: this.watch.url ?? null,
      dropped: this.replication.dropped,
      logTopic: this.replication.topicStatus(),
      liveness: this.membership.counters,
      certs: { warnings: this.certs.warnings() }
    }
  }
}

/** The IP addresses members announce: never refused for strangers coming from the same address. */
function memberHosts(replica: Replica): Set<string> {
  const hosts = new Set<string>()
  for (const m of replica.state.members.values()) {
    for (const a of m.addresses) {
      try {
        const host = hostOf(multiaddr(a))
        if (host !== undefined) hosts.add(host)
      } catch {
        // an address this version cannot parse names no host
      }
    }
  }
  return hosts
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
