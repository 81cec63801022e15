import { DEFAULT_THREAD_DEMAND, DnsServer } from '../dns/server.js'
import type { DnsCountersSnapshot } from '../dns/counters.js'
import { compileZone } from '../dns/compile.js'
import { splitHostPort } from '../dns/listen-address.js'
import { ExitCode, OperatorError } from '../errors.js'
import type { NodeContext } from './context.js'
import type { Membership } from './membership.js'
import { effectiveSettings } from '../config/layers.js'
import { platformRelease } from '../release/platform.js'
import { OUTSIDE_THE_ZONE, USERS_IN_PLACE } from '../state/machine.js'
import { dnsUsersTouched } from '../state/registry.js'
import { currentRelease, PLATFORM_SETTINGS_KEY } from '../state/types.js'
import type { RateLimitEvent } from '../dns/rrl-log.js'
import { type DnsSettings, dnsSettings, zoneFromState, zoneSerial } from './zone.js'



/**
 * Runs the node's authoritative DNS server on the zone derived from the replicated state: users are
 * updated one by one as they change, everything else recompiles the zone, and member liveness marks
 * weighted targets up or down within a second.
 */
export class DnsService {
  private server?: DnsServer
  private timer?: NodeJS.Timeout
  private readonly alive = new Map<string, boolean>()
  private unhealthySeen?: string

  constructor(private readonly ctx: NodeContext, private readonly membership: Membership) {}

  /** Bound UDP addresses ("host:port"), once started. */
  bound: string[] = []

  async start(listen: readonly string[]): Promise<void> {
    if (listen.length === 0) return
    const settings = this.settings()
    const server = new DnsServer(compileZone(this.spec(settings)), {
      udpThreads: 'auto',
      // An idle node answers on its main thread; more threads start when the queries call for them.
      threadsOnDemand: DEFAULT_THREAD_DEMAND,
      rateLimit: settings.limits.rateLimit,
      maxUdpPayload: settings.limits.maxUdpPayload,
      tcpIdleTimeoutMs: settings.limits.tcpIdleTimeoutMs,
      tcpConnectionsPerSource: settings.limits.tcpConnectionsPerSource,
      onRateLimit: (e) => this.logRateLimit(e),
      onError: (err) => this.ctx.log.debug({ err: err.message }, 'dns request failed')
    })
    const addresses = listen.map(splitHostPort)
    try {
      const bound = await server.start({ udp: addresses, tcp: addresses })
      this.bound = bound.udp.map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`))
    } catch (err) {
      const text = `${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`
      throw new OperatorError(/EADDRINUSE/.test(text) ? 'PRYV_PORT_IN_USE' : 'PRYV_DNS_LISTEN_FAILED', `The DNS server cannot listen on ${listen.join(', ')}: ${(err as Error).message}.`, {
        hint: /EACCES/.test(text) ? 'Port 53 needs root (or CAP_NET_BIND_SERVICE); or choose another port with --dns.' : 'Stop what uses that port, or choose another one with --dns (or --dns none).',
        exitCode: ExitCode.environment,
        cause: err
      })
    }
    this.server = server
    this.ctx.replica.on('applied', (_entry, command, result) => {
      if (command.kind.startsWith('registry.')) {
        // The user registry's users are DNS users too (src/state/registry.ts).
        const users = this.ctx.replica.state.dnsUsers
        for (const user of dnsUsersTouched(command as Parameters<typeof dnsUsersTouched>[0], result.ok ? result.value : undefined)) server.setUser(user, users.get(user) ?? null)
      } else if (command.kind === 'dns.users.set') {
        for (const [user, core] of Object.entries(command.users)) server.setUser(user, core)
      } else if (command.kind === 'dns.users.remove') {
        for (const user of command.usernames) server.setUser(user, null)
      }
      if (USERS_IN_PLACE.has(command.kind)) {
        server.setSerial(zoneSerial(this.ctx.replica.state))
      } else if (!OUTSIDE_THE_ZONE.has(command.kind)) {
        this.recompile()
      }
    })
    // A snapshot replaced the whole state (src/state/replica.ts): compile everything again.
    this.ctx.replica.on('installed', () => this.recompile())
    this.timer = setInterval(() => this.updateHealth(), 500)
    this.timer.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    await this.server?.stop()
    this.server = undefined
  }

  counters(): DnsCountersSnapshot | undefined {
    return this.server?.counters()
  }

  /** Rate-limiting lines: already limited to a start and a stop per prefix, and 20 starts a minute. */
  private logRateLimit(e: RateLimitEvent): void {
    if (e.event === 'start') this.ctx.log.warn({ prefix: e.prefix, kind: e.kind }, 'dns: rate limiting answers to this client prefix (spoofed flood or a busy resolver)')
    else if (e.event === 'stop') this.ctx.log.info({ prefix: e.prefix, kinds: e.kinds, durationMs: e.durationMs }, 'dns: no longer rate limiting this client prefix')
    else this.ctx.log.warn({ prefixes: e.prefixes }, 'dns: more client prefixes were rate limited (not logged one by one)')
  }

  private settings(): DnsSettings {
    const state = this.ctx.replica.state
    const release = platformRelease(currentRelease(state))
    const values = effectiveSettings(release.schema, { platform: state.platformSettings.get(PLATFORM_SETTINGS_KEY) }).values
    return dnsSettings(values, state.machineSettings)
  }

  private spec(settings: DnsSettings): ReturnType<typeof zoneFromState> {
    const self = { peerId: this.ctx.selfId, name: this.ctx.config.name, role: 'full' as const, addresses: [], joinedAt: 0 }
    const state = this.ctx.replica.state
    const release = platformRelease(currentRelease(state))
    const serviceNames = (release.services ?? []).flatMap((s) => (s.dnsNames ?? []).map((name) => ({ name, service: s.name })))
    return zoneFromState(this.ctx.config.domain, state, self, (m) => (m.peerId === this.ctx.selfId ? this.ctx.mesh.getMultiaddrs().map(String) : m.addresses), settings, serviceNames, (m) => this.unhealthyOf(m.peerId))
  }

  private unhealthyOf(peerId: string): readonly string[] {
    return this.membership.view(peerId).lastHeartbeat?.unhealthy ?? []
  }

  private recompile(): void {
    const settings = this.settings()
    this.server?.setLimits(settings.limits)
    const error = this.server?.applySpec(this.spec(settings))
    if (error) this.ctx.log.error({ err: error.message }, 'the new DNS zone does not compile; still serving the previous one')
  }

  private updateHealth(): void {
    // Services announced unhealthy are part of the zone spec: recompile when that set changes.
    const unhealthy = [...this.ctx.replica.state.members.keys()].sort().map((id) => `${id}:${this.unhealthyOf(id).join(',')}`).join(' ')
    if (unhealthy !== this.unhealthySeen) {
      const first = this.unhealthySeen === undefined
      this.unhealthySeen = unhealthy
      if (!first) this.recompile()
    }
    for (const m of this.ctx.replica.state.members.values()) {
      const alive = this.membership.view(m.peerId).alive
      if (this.alive.get(m.peerId) !== alive) {
        this.alive.set(m.peerId, alive)
        // Alive: the zone spec decides (a service announced unhealthy); down: out of every name.
        this.server?.setTargetHealth(m.peerId, alive ? null : false)
      }
    }
  }
}
