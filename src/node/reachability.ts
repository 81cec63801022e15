import { createSocket } from 'node:dgram'
import { randomInt } from 'node:crypto'
import { connect } from 'node:net'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { ControlHandler } from '../control/server.js'
import { joinHostPort, splitHostPort } from '../dns/listen-address.js'
import { ExitCode, OperatorError } from '../errors.js'
import { callRpc, handleRpc } from '../mesh/rpc.js'
import type { Member } from '../state/types.js'
import { type NodeContext, ownAddresses } from './context.js'
import { explainDialError } from './dial-errors.js'
import type { Membership } from './membership.js'
import { errorReply } from './wire-errors.js'
import { compareText } from '../text-order.js'

/**
 * A member dials the addresses another member advertises and says what it found (`pryv-node doctor`).
 * Request `{ targets: ReachabilityTarget[] }`; reply `{ results: ProbeResult[] }`.
 */
export const REACHABILITY_PROTOCOL = '/pryv/reachability/1.0.0'

/** What a member advertises: a mesh or join multiaddr (without /p2p), or a DNS `host:port`. */
export interface ReachabilityTarget {
  readonly kind: 'mesh' | 'join' | 'dns'
  readonly address: string
}

export interface ProbeResult extends ReachabilityTarget {
  readonly ok: boolean
  /** false: the asked member did not dial it, not knowing it as this member's (yet: heartbeats bring it). */
  readonly dialled?: false
  readonly latencyMs?: number
  readonly error?: string
}

/** What `doctor` receives: this node's targets, and each asked member's results (or why it did not answer). */
export interface ReachabilityReport {
  readonly targets: readonly ReachabilityTarget[]
  readonly askedOf: ReadonlyArray<{ readonly member: string, readonly results?: readonly ProbeResult[], readonly error?: string }>
  /** The platform's members other than this node. */
  readonly otherMembers: number
}

const MAX_ASKED = 3
const MAX_TARGETS = 16
const PROBE_TIMEOUT_MS = 3000
const ASK_TIMEOUT_MS = 10_000
/** Requests a member may make of this node per window: doctor is run by hand, never in a loop. */
const REQUESTS_PER_WINDOW = 6
const WINDOW_MS = 60_000
/** The private network's first bytes from a listener: its 24-byte nonce (src/mesh/pnet.ts). */
const PNET_NONCE_LENGTH = 24

/**
 * Whether the other members reach the addresses this node advertises. The asked member dials only
 * addresses of the member asking (as the log and its heartbeats name them), for members only, a few
 * times a minute: no relay for anyone else.
 */
export class Reachability {
  private readonly recent = new Map<string, number[]>()

  constructor(
    private readonly ctx: NodeContext,
    private readonly membership: Membership,
    /** Where this node's join endpoint and DNS server listen. */
    private readonly local: () => { readonly join: readonly string[], readonly dns: readonly string[] }
  ) {}

  async start(): Promise<void> {
    await handleRpc(this.ctx.mesh, REACHABILITY_PROTOCOL, async (request, remote) => ({ results: await this.probeFor(remote, request) }), errorReply)
  }

  async stop(): Promise<void> {
    await this.ctx.mesh.unhandle(REACHABILITY_PROTOCOL).catch(() => undefined)
  }

  handlers(): Record<string, ControlHandler> {
    return { 'doctor.reachability': async () => this.report() }
  }

  /** Asks up to three other members that are up (full members first) to dial this node's addresses. */
  async report(): Promise<ReachabilityReport> {
    const targets = this.targets()
    const others = [...this.ctx.replica.state.members.values()].filter((m) => m.peerId !== this.ctx.selfId)
    const asked = others.filter((m) => this.membership.view(m.peerId).alive)
      .sort((a, b) => Number(b.role === 'full') - Number(a.role === 'full') || compareText(a.name, b.name))
      .slice(0, MAX_ASKED)
    const askedOf = await Promise.all(asked.map((m) => this.ask(m, targets)))
    return { targets, askedOf, otherMembers: others.length }
  }

  private targets(): ReachabilityTarget[] {
    const mesh = ownAddresses(this.ctx.mesh)
    const { join, dns } = this.local()
    const hosts = [...new Set(mesh.map(hostOfAddress).filter((h): h is string => h !== undefined))]
    // A DNS server on a wildcard address is reached on the hosts the mesh announces.
    const dnsTargets = dns.flatMap((hostPort) => {
      const { host, port } = splitHostPort(hostPort)
      return host === '0.0.0.0' || host === '::' ? hosts.map((h) => joinHostPort({ host: h, port })) : [hostPort]
    })
    return [
      ...mesh.map((address) => ({ kind: 'mesh' as const, address })),
      ...join.map((address) => ({ kind: 'join' as const, address })),
      ...[...new Set(dnsTargets)].map((address) => ({ kind: 'dns' as const, address }))
    ].slice(0, MAX_TARGETS)
  }

  private async ask(m: Member, targets: readonly ReachabilityTarget[]): Promise<ReachabilityReport['askedOf'][number]> {
    try {
      const reply = await callRpc(this.ctx.mesh, peerIdFromString(m.peerId), REACHABILITY_PROTOCOL, { targets }, AbortSignal.timeout(ASK_TIMEOUT_MS)) as { results?: ProbeResult[], error?: { message?: string } }
      if (reply.error) return { member: m.name, error: reply.error.message ?? 'refused' }
      return { member: m.name, results: reply.results ?? [] }
    } catch (err) {
      return { member: m.name, error: `did not answer: ${explainDialError(err)}` }
    }
  }

  /** The asked side: checks who asks and what, then dials each allowed target once. */
  private async probeFor(remote: PeerId, request: unknown): Promise<ProbeResult[]> {
    const peerId = remote.toString()
    const member = this.ctx.replica.state.members.get(peerId)
    if (!member) throw new OperatorError('PRYV_NOT_A_MEMBER', 'only members may ask for their addresses to be dialled', { exitCode: ExitCode.conflict })
    this.limit(peerId)
    return Promise.all(screenTargets(request, this.knownAddresses(member)).map(async (t) => 'refused' in t ? t.refused : probe(t, this.ctx.config.domain)))
  }

  /** The member's addresses as the log and its last heartbeat name them. */
  private knownAddresses(member: Member): Set<string> {
    const hb = this.membership.view(member.peerId).lastHeartbeat
    return new Set([...member.addresses, ...(hb?.addresses ?? []), ...(hb?.joinAddresses ?? [])])
  }

  private limit(peerId: string): void {
    const now = this.ctx.monotonic()
    const times = (this.recent.get(peerId) ?? []).filter((t) => now - t < WINDOW_MS)
    if (times.length >= REQUESTS_PER_WINDOW) {
      throw new OperatorError('PRYV_RATE_LIMITED', `at most ${REQUESTS_PER_WINDOW} reachability checks a minute per member`, { exitCode: ExitCode.conflict, hint: 'Run doctor again in a minute.' })
    }
    this.recent.set(peerId, [...times, now])
  }
}

/**
 * The targets of a request that the asked member may dial: mesh and join addresses the asking member
 * advertises, DNS ports on its hosts; the others come back refused, undialled.
 */
export function screenTargets(request: unknown, known: ReadonlySet<string>): Array<ReachabilityTarget | { refused: ProbeResult }> {
  const list = (request as { targets?: unknown } | null)?.targets
  if (!Array.isArray(list)) return []
  const knownHosts = new Set([...known].map(hostOfAddress))
  return list.slice(0, MAX_TARGETS).filter(isTarget).map((t) => {
    const target = { kind: t.kind, address: t.address }
    const allowed = t.kind === 'dns' ? knownHosts.has(splitHostPort(t.address).host) : known.has(t.address)
    return allowed ? target : { refused: { ...target, ok: false, dialled: false, error: 'not an address it knows this member by: not dialled' } }
  })
}

function isTarget(t: unknown): t is ReachabilityTarget {
  return typeof t === 'object' && t !== null && ['mesh', 'join', 'dns'].includes((t as ReachabilityTarget).kind) && typeof (t as ReachabilityTarget).address === 'string'
}

/** Dials one target: TCP (and, for the mesh, its private network's first bytes), or one DNS question over UDP. */
export async function probe(t: ReachabilityTarget, domain: string): Promise<ProbeResult> {
  const started = performance.now()
  try {
    if (t.kind === 'dns') {
      const { host, port } = splitHostPort(t.address)
      await askDns(host, port, domain)
    } else {
      const { host, port } = tcpEndpoint(t.address)
      await dialTcp(host, port, t.kind === 'mesh' ? PNET_NONCE_LENGTH : 0)
    }
    return { ...t, ok: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 }
  } catch (err) {
    return { ...t, ok: false, error: (err as Error).message }
  }
}

function dialTcp(host: string, port: number, expectBytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: PROBE_TIMEOUT_MS })
    let received = 0
    const done = (err?: Error) => {
      socket.destroy()
      if (err) reject(err)
      else resolve()
    }
    socket.on('connect', () => { if (expectBytes === 0) done() })
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (received >= expectBytes) done()
    })
    socket.on('timeout', () => done(new Error(socket.connecting ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : 'something accepts connections there, but not the platform\'s mesh')))
    socket.on('end', () => done(new Error('something accepts connections there, but not the platform\'s mesh')))
    socket.on('error', (err) => done(err))
  })
}

/** One SOA question for the platform's domain: any answer with the same id shows the server is reached. */
function askDns(host: string, port: number, domain: string): Promise<void> {
  const id = randomInt(0x10000)
  const labels = domain.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]))
  const header = Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
  const question = Buffer.concat([header, ...labels, Buffer.from([0, 0, 6, 0, 1])])
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    const timer = setTimeout(() => done(new Error(`no DNS answer within ${PROBE_TIMEOUT_MS / 1000} s`)), PROBE_TIMEOUT_MS)
    const done = (err?: Error) => {
      clearTimeout(timer)
      socket.close()
      if (err) reject(err)
      else resolve()
    }
    socket.on('message', (msg) => { if (msg.length >= 2 && msg.readUInt16BE(0) === id) done() })
    socket.on('error', (err) => done(err))
    socket.send(question, port, host)
  })
}

function hostOfAddress(address: string): string | undefined {
  try {
    return tcpEndpoint(address).host
  } catch {
    return undefined
  }
}

/** The host (IP or DNS name) and TCP port of a multiaddr such as /ip4/10.0.0.5/tcp/7400. */
function tcpEndpoint(address: string): { host: string, port: number } {
  const parts = multiaddr(address).getComponents()
  const host = parts.find((c) => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name))?.value
  const port = Number(parts.find((c) => c.name === 'tcp')?.value)
  if (host === undefined || !Number.isInteger(port)) throw new Error(`not a TCP address: ${address}`)
  return { host, port }
}

