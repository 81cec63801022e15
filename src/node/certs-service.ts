import { randomInt, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { challengeName, type ChallengeRecord } from '../certs/challenges.js'
import { certificatePaths } from '../certs/install.js'
import { daysLeft, EXPIRY_WARNING_MS, renewAt, retryDelayMs } from '../certs/policy.js'
import { awaitTxtEverywhere, type NameServer } from '../certs/propagation.js'
import type { CertificateRecord } from '../certs/records.js'
import { type CertsSettings, certsSettings } from '../certs/settings.js'
import { checkImport, covers } from '../certs/x509.js'
import { effectiveSettings } from '../config/layers.js'
import { platformRelease } from '../release/platform.js'
import { ExitCode, OperatorError } from '../errors.js'
import { callRpc, handleRpc } from '../mesh/rpc.js'
import { accountOf, certificateOf, renewalOf } from '../state/certs.js'
import type { Command } from '../state/commands.js'
import { currentRelease, PLATFORM_SETTINGS_KEY } from '../state/types.js'
import type { ControlHandler } from '../control/server.js'
import { splitHostPort } from '../dns/listen-address.js'
import type { NodeContext } from './context.js'
import type { Membership } from './membership.js'
import { errorReply } from './wire-errors.js'
import { compareText } from '../text-order.js'

/** Members answer with the DNS addresses they serve on and the certificate they installed. */
export const CERTS_PROTOCOL = '/pryv/certs/1.0.0'

/** A renewal lease lasts this long past the holder's last progress; a holder that is down is taken over sooner. */
const LEASE_MS = 120_000
/** How long every name server has to answer the challenges. */
const PROPAGATION_TIMEOUT_MS = 120_000
const CHALLENGE_TTL_MS = 600_000
/** The longest the node waits before looking at its certificate again. */
const MAX_CHECK_MS = 3_600_000
/** While another node holds the lease: how often to see whether it is still up. */
const HOLDER_CHECK_MS = 1000
const RPC_TIMEOUT_MS = 3000

type Reason = 'issue' | 'renew' | 'due'

/** One certificate attempt's outcome, for the operator who asked for it. */
export interface AttemptOutcome {
  readonly ok: boolean
  readonly serial?: string
  readonly notAfter?: string
  readonly error?: string
  readonly durationMs: number
  readonly propagationMs?: number
}

/**
 * The platform's certificate on this node: renews it when due (one node at a time platform-wide,
 * through a lease in the log; the first full member by name that is up volunteers), answers the
 * `certs` commands, and tells other members where its DNS answers and what it installed.
 * Installing the files and restarting their services is the settings service's rendering.
 */
export class CertsService {
  private timer?: NodeJS.Timeout
  private running?: Promise<AttemptOutcome>
  private stopped = false
  private readonly onApplied = (_entry: unknown, command: { kind: string }): void => {
    if (command.kind.startsWith('certs.') || command.kind === 'settings.change' || command.kind.startsWith('release.') || command.kind.startsWith('member.')) this.schedule()
  }

  constructor(
    private readonly ctx: NodeContext,
    private readonly membership: Membership,
    private readonly dataDir: string,
    private readonly submit: (command: Command) => Promise<unknown>,
    /** Addresses this node's DNS server is bound to ("host:port"). */
    private readonly dnsBound: () => readonly string[]
  ) {}

  async start(): Promise<void> {
    await handleRpc(this.ctx.mesh, CERTS_PROTOCOL, async (request, remote) => {
      if (!this.ctx.replica.state.members.has(remote.toString())) throw new OperatorError('PRYV_NOT_A_MEMBER', 'only members may ask', { exitCode: ExitCode.conflict })
      return (request as { op?: string }).op === 'installed' ? { installed: await this.installed() } : { dns: this.dnsBound() }
    }, errorReply)
    this.ctx.replica.on('applied', this.onApplied)
    this.schedule()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.ctx.replica.off('applied', this.onApplied)
  }

  handlers(): Record<string, ControlHandler> {
    return {
      'certs.status': async () => this.status(true),
      'certs.issue': async (p) => this.attemptNow(p.force === true ? 'renew' : 'issue'),
      'certs.import': async (p) => this.importCertificate(String(p.chain ?? ''), String(p.key ?? ''))
    }
  }

  // ----- state and settings ------------------------------------------------------------------

  private settings(): CertsSettings {
    const state = this.ctx.replica.state
    const values = effectiveSettings(platformRelease(currentRelease(state)).schema, { platform: state.platformSettings.get(PLATFORM_SETTINGS_KEY) }).values
    return certsSettings(values, this.ctx.config.domain)
  }

  private aliasDomains(): string[] {
    const state = this.ctx.replica.state
    const values = effectiveSettings(platformRelease(currentRelease(state)).schema, { platform: state.platformSettings.get(PLATFORM_SETTINGS_KEY) }).values
    return (values['dns.aliasDomains'] as string[] | undefined) ?? []
  }

  /** Whether the certificate in force covers every name and is not due yet. */
  private dueAt(cert: CertificateRecord | undefined, settings: CertsSettings): number {
    if (!cert || !settings.names.every((n) => cert.names.some((c) => covers(c, n)))) return 0
    return renewAt(cert, settings.renewBeforeDays)
  }

  /** The member that renews automatically: the first full member by name that is up (the lease makes it exclusive). */
  private volunteer(): string | undefined {
    const full = [...this.ctx.replica.state.members.values()].filter((m) => m.role === 'full' && this.membership.view(m.peerId).alive)
    return full.sort((a, b) => compareText(a.name, b.name))[0]?.peerId
  }

  // ----- automatic renewal -------------------------------------------------------------------

  private schedule(): void {
    if (this.stopped) return
    clearTimeout(this.timer)
    const delay = this.nextCheckMs()
    if (delay === undefined) return
    this.timer = setTimeout(() => this.tick(), Math.max(0, Math.min(delay, MAX_CHECK_MS)))
    this.timer.unref()
  }

  /** Milliseconds until this node should look again; undefined when there is nothing to do automatically. */
  private nextCheckMs(): number | undefined {
    const state = this.ctx.replica.state
    if (!state.platform) return undefined
    const settings = this.settings()
    if (!settings.email) return undefined
    const now = this.ctx.now()
    const renewal = renewalOf(state)
    // A lease this node held when it stopped: it resumes at once; another's: watch whether it is up.
    if (renewal.holder?.peerId === this.ctx.selfId && !this.running) return 0
    if (renewal.holder && renewal.holder.peerId !== this.ctx.selfId && renewal.holder.until > now) return HOLDER_CHECK_MS
    const due = Math.max(this.dueAt(certificateOf(state), settings), renewal.nextAttemptAt ?? 0)
    return due - now
  }

  private tick(): void {
    if (this.stopped || this.running) return
    const takeover = this.shouldAttempt()
    if (takeover === undefined) this.schedule()
    else void this.attempt('due', takeover).catch(() => undefined).finally(() => this.schedule())
  }

  /** Whether this node should attempt now (and whether it takes the lease over from a holder that is down); undefined when not. */
  private shouldAttempt(): boolean | undefined {
    const state = this.ctx.replica.state
    const renewal = renewalOf(state)
    const now = this.ctx.now()
    const holder = renewal.holder
    // A renewal this node held when it stopped resumes here.
    if (holder?.peerId === this.ctx.selfId) return false
    const holderDown = holder !== undefined && holder.until > now && !this.membership.view(holder.peerId).alive
    if (holder && holder.until > now && !holderDown) return undefined
    // Only the volunteer starts one, once it is due and past any backoff.
    if (this.volunteer() !== this.ctx.selfId) return undefined
    if (Math.max(this.dueAt(certificateOf(state), this.settings()), renewal.nextAttemptAt ?? 0) > now) return undefined
    return holderDown
  }

  // ----- one attempt -------------------------------------------------------------------------

  private async attemptNow(reason: 'issue' | 'renew'): Promise<AttemptOutcome> {
    if (reason === 'issue') {
      const cert = certificateOf(this.ctx.replica.state)
      if (cert && this.dueAt(cert, this.settings()) > this.ctx.now()) {
        throw new OperatorError('PRYV_CERTS_VALID', `The platform already has a certificate for ${cert.names.join(', ')}, valid until ${new Date(cert.notAfter).toISOString()}.`, {
          hint: 'Force a new one with `pryv-node certs renew`.',
          exitCode: ExitCode.conflict
        })
      }
    }
    const outcome = await this.attempt(reason, false)
    if (!outcome.ok) {
      throw new OperatorError('PRYV_CERTS_FAILED', `The certificate could not be obtained: ${outcome.error}.`, {
        hint: 'See `pryv-node certs status` (the ACME server\'s problem document) and the node\'s logs; it is retried automatically once certs.email is set.',
        exitCode: ExitCode.unreachable
      })
    }
    return outcome
  }

  /** Takes the lease, obtains a certificate and records the outcome; one attempt at a time on this node. */
  private attempt(reason: Reason, takeover: boolean): Promise<AttemptOutcome> {
    if (this.running) {
      throw new OperatorError('PRYV_CERTS_BUSY', 'This node is already obtaining a certificate.', { hint: 'Wait for it: `pryv-node certs status`.', exitCode: ExitCode.conflict })
    }
    this.running = this.run(reason, takeover).finally(() => { this.running = undefined })
    return this.running
  }

  private async run(reason: Reason, takeover: boolean): Promise<AttemptOutcome> {
    const started = performance.now()
    const settings = this.settings()
    const domain = this.ctx.config.domain
    const aliasDomains = this.aliasDomains()
    const lease = (): number => this.ctx.now() + LEASE_MS
    await this.submit({ kind: 'certs.lease', until: lease(), reason, ...(takeover ? { takeover } : {}) })
    this.ctx.log.info({ reason, names: settings.names, directory: settings.directoryUrl, takeover }, 'obtaining the platform certificate')
    let propagationMs: number | undefined
    try {
      await this.removeLeftoverChallenges(settings, aliasDomains)
      const state = this.ctx.replica.state
      const { issueCertificate } = await import('../certs/acme.js')
      const certificate = await issueCertificate({ domain, aliasDomains, settings, account: accountOf(state), order: renewalOf(state).order }, {
        log: this.ctx.log,
        saveProgress: async (progress) => void await this.submit({ kind: 'certs.progress', ...progress, until: lease() }),
        publishChallenges: async (records) => {
          await this.submit({ kind: 'certs.progress', until: lease() })
          for (const r of records) await this.submit({ kind: 'acme.set', name: r.name, value: r.value, expiresAt: this.ctx.now() + CHALLENGE_TTL_MS })
        },
        awaitPropagation: async (records) => {
          const t0 = performance.now()
          await awaitTxtEverywhere(() => this.nameServers(), records, AbortSignal.timeout(PROPAGATION_TIMEOUT_MS))
          propagationMs = Math.round(performance.now() - t0)
          this.ctx.log.info({ propagationMs, records: records.length }, 'every name server answers the challenges')
        },
        removeChallenges: (records) => this.removeChallenges(records)
      })
      await this.submit({ kind: 'certs.done', certificate })
      const durationMs = Math.round(performance.now() - started)
      this.ctx.log.info({ serial: certificate.serial, names: certificate.names, notAfter: new Date(certificate.notAfter).toISOString(), durationMs, propagationMs }, 'platform certificate obtained')
      return { ok: true, serial: certificate.serial, notAfter: new Date(certificate.notAfter).toISOString(), durationMs, ...(propagationMs !== undefined ? { propagationMs } : {}) }
    } catch (err) {
      return this.failed(err, started, propagationMs)
    }
  }

  private async failed(err: unknown, started: number, propagationMs: number | undefined): Promise<AttemptOutcome> {
    const { AcmeError } = await import('../certs/acme.js')
    const acme = err instanceof AcmeError ? err : undefined
    const error = acme ? acme.toAttemptError() : { message: (err as Error).message ?? String(err) }
    const failures = renewalOf(this.ctx.replica.state).failures + 1
    const delay = retryDelayMs(failures, randomInt(1_000_000) / 1_000_000, acme?.retryAfterMs)
    const nextAttemptAt = this.ctx.now() + delay
    this.ctx.log.warn({ err: error.message, problem: error.problem, failures, retryInMs: delay }, 'obtaining the platform certificate failed')
    try {
      await this.submit({ kind: 'certs.done', error, nextAttemptAt, keepOrder: true })
    } catch (recordErr) {
      // The lease was taken over (this node was thought down): the new holder records its own outcome.
      this.ctx.log.warn({ err: (recordErr as Error).message }, 'cannot record the failed certificate attempt')
    }
    return { ok: false, error: error.message, durationMs: Math.round(performance.now() - started), ...(propagationMs !== undefined ? { propagationMs } : {}) }
  }

  /** Challenges of this platform's names left by an attempt that was interrupted (crash, takeover). */
  private async removeLeftoverChallenges(settings: CertsSettings, aliasDomains: readonly string[]): Promise<void> {
    const names = new Set(settings.names.map((n) => challengeName(n, this.ctx.config.domain, aliasDomains)))
    for (const c of this.ctx.replica.state.acmeChallenges.values()) {
      if (names.has(c.name)) await this.submit({ kind: 'acme.remove', name: c.name })
    }
  }

  /** Removes the challenges, retrying: a record left behind is served until it expires. */
  private async removeChallenges(records: readonly ChallengeRecord[]): Promise<void> {
    for (const r of records) {
      for (let tries = 0; ; tries++) {
        try {
          await this.submit({ kind: 'acme.remove', name: r.name, value: r.value })
          break
        } catch (err) {
          if (tries >= 4) {
            this.ctx.log.warn({ name: r.name, err: (err as Error).message }, 'cannot remove a challenge record; it expires by itself')
            break
          }
        }
      }
    }
  }

  /** Every member that is up and serves DNS, with the address to ask it on. */
  private async nameServers(): Promise<NameServer[]> {
    const members = [...this.ctx.replica.state.members.values()].filter((m) => this.membership.view(m.peerId).alive)
    const replies = await Promise.all(members.map(async (m) => {
      if (m.peerId === this.ctx.selfId) return { m, dns: [...this.dnsBound()] }
      try {
        const reply = await callRpc(this.ctx.mesh, peerIdFromString(m.peerId), CERTS_PROTOCOL, { op: 'dns' }, AbortSignal.timeout(RPC_TIMEOUT_MS)) as { dns?: string[] }
        return { m, dns: reply.dns ?? [] }
      } catch {
        // Up but unreachable for now: it still must answer, so it stays in the list.
        return { m, dns: undefined }
      }
    }))
    return replies.flatMap(({ m, dns }) => {
      if (dns === undefined) return [{ node: m.name, address: '' }]
      return dns.slice(0, 1).map((address) => ({ node: m.name, address: reachable(address, m.addresses) }))
    })
  }

  // ----- import and status -------------------------------------------------------------------

  private async importCertificate(chainPem: string, keyPem: string): Promise<unknown> {
    const certificate = checkImport(chainPem, keyPem, this.settings().names, this.ctx.now())
    const r = await this.submit({ kind: 'certs.import', certificate }) as { revision: number }
    this.ctx.log.info({ serial: certificate.serial, names: certificate.names, notAfter: new Date(certificate.notAfter).toISOString() }, 'platform certificate imported')
    return { revision: r.revision, serial: certificate.serial, names: certificate.names, notAfter: new Date(certificate.notAfter).toISOString() }
  }

  /** Serial of the certificate this node's services read (from the files on disk), or null; undefined when none reads one. */
  private async installed(): Promise<string | null | undefined> {
    const release = platformRelease(currentRelease(this.ctx.replica.state))
    const paths = certificatePaths(release.services ?? [], this.ctx.config.domain)
    if (paths.length === 0) return undefined
    const serials = await Promise.all(paths.map(async ({ service, chain }) => {
      try {
        return new X509Certificate(await readFile(join(this.dataDir, 'services', service, chain))).serialNumber
      } catch {
        return null
      }
    }))
    return serials.every((s) => s === serials[0]) ? serials[0]! : null
  }

  /** What `certs status` shows; with `nodes`, asks every member what it installed. */
  async status(nodes: boolean): Promise<Record<string, unknown>> {
    const state = this.ctx.replica.state
    const settings = this.settings()
    const cert = certificateOf(state)
    const renewal = renewalOf(state)
    const now = this.ctx.now()
    const { order, holder, ...counters } = renewal
    return {
      settings: { directoryUrl: settings.directoryUrl, email: settings.email, names: settings.names, keyType: settings.keyType, renewBeforeDays: settings.renewBeforeDays, automatic: settings.email !== null },
      certificate: cert ? {
        names: cert.names,
        issuer: cert.issuer,
        serial: cert.serial,
        source: cert.source,
        notBefore: new Date(cert.notBefore).toISOString(),
        notAfter: new Date(cert.notAfter).toISOString(),
        daysLeft: daysLeft(cert.notAfter, now),
        renewAt: new Date(this.dueAt(cert, settings)).toISOString(),
        installedAt: new Date(cert.installedAt).toISOString()
      } : null,
      account: accountOf(state) ? { directoryUrl: accountOf(state)!.directoryUrl, url: accountOf(state)!.url } : null,
      renewal: {
        ...counters,
        ...(holder && holder.until > now ? { holder: { node: holder.name, since: new Date(holder.since).toISOString(), reason: holder.reason } } : {}),
        ...(order ? { order: order.url } : {}),
        ...(counters.lastAttempt ? { lastAttempt: { ...counters.lastAttempt, at: new Date(counters.lastAttempt.at).toISOString() } } : {}),
        ...(counters.nextAttemptAt ? { nextAttemptAt: new Date(counters.nextAttemptAt).toISOString() } : {})
      },
      warnings: this.warnings(),
      ...(nodes ? { nodes: await this.installedEverywhere() } : {})
    }
  }

  /** Warnings for every `status`: an expiry closer than 7 days, a failing renewal. */
  warnings(): string[] {
    const state = this.ctx.replica.state
    const cert = certificateOf(state)
    const renewal = renewalOf(state)
    const now = this.ctx.now()
    const out: string[] = []
    if (cert && cert.notAfter - now < EXPIRY_WARNING_MS) {
      out.push(cert.notAfter <= now ? `the platform certificate expired on ${new Date(cert.notAfter).toISOString()}` : `the platform certificate expires in ${Math.max(0, Math.round((cert.notAfter - now) / 3_600_000))} h (${new Date(cert.notAfter).toISOString()})`)
    }
    if (renewal.lastAttempt && !renewal.lastAttempt.ok) out.push(`the last certificate attempt failed (${renewal.failures} in a row): ${renewal.lastAttempt.error?.message ?? 'unknown error'}`)
    return out
  }

  private async installedEverywhere(): Promise<Array<{ node: string, installed: string | null }>> {
    const members = [...this.ctx.replica.state.members.values()].sort((a, b) => compareText(a.name, b.name))
    return Promise.all(members.map(async (m) => {
      if (m.peerId === this.ctx.selfId) return { node: m.name, installed: (await this.installed()) ?? null }
      try {
        const reply = await callRpc(this.ctx.mesh, peerIdFromString(m.peerId), CERTS_PROTOCOL, { op: 'installed' }, AbortSignal.timeout(RPC_TIMEOUT_MS)) as { installed?: string | null }
        return { node: m.name, installed: reply.installed ?? null }
      } catch {
        return { node: m.name, installed: null }
      }
    }))
  }

  /** For metrics: the certificate's names and expiry, and the renewal counters. */
  metricsSnapshot(): { names: readonly string[], notAfter: number | null, failed: number, orders: number, issued: number } {
    const state = this.ctx.replica.state
    const cert = certificateOf(state)
    const r = renewalOf(state)
    return { names: cert?.names ?? [], notAfter: cert?.notAfter ?? null, failed: r.failed, orders: r.orders, issued: r.issued }
  }
}

/** A DNS address bound to every interface is asked on the member's own mesh IP (loopback for this node). */
function reachable(bound: string, meshAddresses: readonly string[]): string {
  const { host, port } = splitHostPort(bound)
  if (host !== '0.0.0.0' && host !== '::') return bound
  const ip4 = meshAddresses.map((a) => /^\/ip4\/([^/]+)\//.exec(a)?.[1]).find((a) => a !== undefined && a !== '0.0.0.0')
  return `${ip4 ?? '127.0.0.1'}:${port}`
}
