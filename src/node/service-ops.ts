import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { closest, unknownMessage } from '../config/suggest.js'
import { type ControlHandler, controlStream } from '../control/server.js'
import { ExitCode, isOperatorError, OperatorError, operatorErrorFromJSON } from '../errors.js'
import { decodeJson, encodeJson } from '../mesh/json.js'
import { callRpc, handleRpc, RpcFailedError } from '../mesh/rpc.js'
import { RuntimeError } from '../runtime/errors.js'
import type { Runtime, ServiceStatus } from '../runtime/runtime.js'
import type { Member } from '../state/types.js'
import type { NodeContext } from './context.js'
import { explainDialError } from './dial-errors.js'
import { errorReply } from './wire-errors.js'
import { compareText } from '../text-order.js'

/** Members answer with their services' status (`pryv-node services`). Request `{}`; reply {@link NodeServices}. */
export const SERVICES_PROTOCOL = '/pryv/services/1.0.0'
/** Members restart one of their services and answer once it is healthy. Request `{ service }`; reply {@link RestartResult}. */
export const SERVICE_RESTART_PROTOCOL = '/pryv/service-restart/1.0.0'
/**
 * Members stream a service's logs: the asker sends one length-prefixed JSON request
 * (`{ service, tail?, since?, follow? }`), the member answers with length-prefixed JSON messages,
 * `{ line: LogItem }` each, then `{ end: true, reason }` or `{ error }`. A follow lasts until the
 * asker resets the stream, the service is removed, or the member stops.
 */
export const SERVICE_LOGS_PROTOCOL = '/pryv/service-logs/1.0.0'

/** Time a member has to answer `services`. */
const LIST_TIMEOUT_MS = 3000
/** Restart, then wait healthy, on the member; below handleRpc's 30 s so the reply still goes out. */
const RESTART_BUDGET_MS = 25_000
const RESTART_CALL_TIMEOUT_MS = 32_000
/** Dial and request of a log stream; the stream itself has no time limit. */
const LOGS_OPEN_TIMEOUT_MS = 5000
const MAX_LOG_MESSAGE_BYTES = 1024 * 1024
/** Lines of past output `logs` sends when no tail is given. */
export const DEFAULT_LOG_TAIL = 100

/** One service as `services` shows it; times from the node that runs it. */
export interface ServiceRow {
  readonly name: string
  readonly state: ServiceStatus['state']
  readonly health: ServiceStatus['health']
  /** Exit code of the last run; null while running or before the first run ends. */
  readonly exitCode: number | null
  readonly startedAt: string | null
  /** Milliseconds since it started, while it runs. */
  readonly uptimeMs: number | null
  /** Restarts made by its restart policy after crashes. */
  readonly restartCount: number
}

/** One member's answer to `services`. */
export interface NodeServices {
  readonly node: string
  readonly self: boolean
  /** The runtime that runs the node's services; null when it runs none (`--services none`) or did not answer. */
  readonly runtime: Runtime['kind'] | null
  readonly services: readonly ServiceRow[]
  /** Log streams this node serves to other members right now. */
  readonly logStreams?: number
  /** Why the node did not answer (`PRYV_NODE_UNREACHABLE`), or why it could not list its services. */
  readonly error?: { readonly code: string, readonly message: string, readonly exitCode: number }
}

export interface ServicesReply {
  readonly nodes: readonly NodeServices[]
}

/** A line of a service's output; `time` as ISO 8601. */
export interface LogItem {
  readonly time: string
  readonly node: string
  readonly stream: 'stdout' | 'stderr'
  readonly text: string
}

/** The last item of a followed stream that ended while the asker still listened. */
export interface LogEnd {
  readonly node: string
  readonly ended: 'removed' | 'stopping'
}

export interface LogsRequest {
  readonly service: string
  /** Node name or peer id; absent: this node. */
  readonly node?: string
  /** Lines of past output; undefined: all of it. */
  readonly tail?: number
  readonly since?: Date
  readonly follow?: boolean
}

export interface RestartResult {
  readonly node: string
  readonly service: string
  readonly before: ServiceRow
  /** Healthy (or running, without a health check). */
  readonly after: ServiceRow
  /** From the restart request to healthy. */
  readonly durationMs: number
}

/** What `restart --all` reports, as it goes: the plan first, then one step per node. */
export type RestartStep =
  | { readonly kind: 'plan', readonly service: string, readonly nodes: readonly PlannedRestart[] }
  | { readonly kind: 'node', readonly node: string, readonly outcome: 'restarted', readonly result: RestartResult }
  | { readonly kind: 'node', readonly node: string, readonly outcome: 'failed' | 'unreachable', readonly error: ReturnType<OperatorError['toJSON']> }
  | { readonly kind: 'node', readonly node: string, readonly outcome: 'not-attempted' }

export interface PlannedRestart {
  readonly node: string
  readonly action: 'restart' | 'skip' | 'unreachable'
  readonly reason?: string
}

/**
 * The `services`, `logs` and `restart` operations, on this node and on every member through the
 * mesh (three members-only protocols). `--node` accepts a member's name or peer id.
 */
export class ServiceOps {
  /** Aborted by stop(): ends the log streams this node serves. */
  private readonly stopping = new AbortController()
  private logStreams = 0

  constructor(
    private readonly ctx: NodeContext,
    /** This node's service runtime; undefined when the node runs no services (`--services none`). */
    private readonly runtime: () => Runtime | undefined
  ) {}

  async start(): Promise<void> {
    await handleRpc(this.ctx.mesh, SERVICES_PROTOCOL, async (_request, remote) => {
      this.checkMember(remote)
      return this.localServices()
    }, errorReply)
    await handleRpc(this.ctx.mesh, SERVICE_RESTART_PROTOCOL, async (request, remote) => {
      this.checkMember(remote)
      const service = (request as { service?: unknown })?.service
      if (typeof service !== 'string') throw usage('Name the service to restart.')
      const by = this.ctx.replica.state.members.get(remote.toString())?.name ?? remote.toString()
      return this.restartHere(service, by)
    }, errorReply)
    await this.ctx.mesh.handle(SERVICE_LOGS_PROTOCOL, (stream, connection) => this.serveLogs(stream, connection.remotePeer), { runOnLimitedConnection: false })
  }

  async stop(): Promise<void> {
    this.stopping.abort()
    await this.ctx.mesh.unhandle([SERVICES_PROTOCOL, SERVICE_RESTART_PROTOCOL, SERVICE_LOGS_PROTOCOL]).catch(() => undefined)
  }

  /** Control-socket methods this part answers. */
  handlers(): Record<string, ControlHandler> {
    return {
      'services.list': async (p) => this.list(optionalString(p.node, 'The node')),
      'services.logs': async (p, signal) => controlStream(this.logs(parseLogsRequest(p), signal)),
      'services.restart': async (p) => {
        const { service, node } = parseRestartRequest(p)
        return this.restartOn(node === undefined ? this.self() : this.member(node), service)
      },
      'services.restartAll': async (p, signal) => controlStream(this.restartAll(parseRestartRequest(p).service, signal))
    }
  }

  // ----- services ----------------------------------------------------------------------------

  /** Every member's services (or one member's), asked in parallel; members that do not answer say why. */
  async list(node?: string): Promise<ServicesReply> {
    const members = node === undefined ? this.members() : [this.member(node)]
    return { nodes: await Promise.all(members.map((m) => this.servicesOf(m))) }
  }

  private async servicesOf(m: Member): Promise<NodeServices> {
    if (m.peerId === this.ctx.selfId) return this.localServices()
    const failed = (error: NonNullable<NodeServices['error']>): NodeServices => ({ node: m.name, self: false, runtime: null, services: [], error })
    let reply: Partial<NodeServices> & { error?: Record<string, unknown> }
    try {
      reply = await callRpc(this.ctx.mesh, peerIdFromString(m.peerId), SERVICES_PROTOCOL, {}, AbortSignal.timeout(LIST_TIMEOUT_MS)) as typeof reply
    } catch (err) {
      return failed(unreachable(m.name, err).toJSON() as NonNullable<NodeServices['error']>)
    }
    if (reply.error) {
      const e = operatorErrorFromJSON(reply.error)
      return failed({ code: e.code, message: e.message, exitCode: e.exitCode })
    }
    return { node: m.name, self: false, runtime: reply.runtime ?? null, services: reply.services ?? [], ...(reply.logStreams === undefined ? {} : { logStreams: reply.logStreams }) }
  }

  private async localServices(): Promise<NodeServices> {
    const runtime = this.runtime()
    const node = this.ctx.config.name
    const base = { node, self: true, runtime: runtime?.kind ?? null, logStreams: this.logStreams }
    if (!runtime) return { ...base, services: [] }
    try {
      const list = await runtime.list({ signal: AbortSignal.timeout(LIST_TIMEOUT_MS) })
      return { ...base, services: list.map((s) => this.row(s)).sort((a, b) => compareText(a.name, b.name)) }
    } catch (err) {
      const e = asOperatorError(err)
      if (!isOperatorError(e)) throw e
      return { ...base, services: [], error: { code: e.code, message: e.message, exitCode: e.exitCode } }
    }
  }

  private row(s: ServiceStatus): ServiceRow {
    const running = s.state === 'running' && s.startedAt !== null
    return {
      name: s.name,
      state: s.state,
      health: s.health,
      exitCode: s.exitCode,
      startedAt: s.startedAt?.toISOString() ?? null,
      uptimeMs: running ? Math.max(0, this.ctx.now() - s.startedAt!.getTime()) : null,
      restartCount: s.restartCount
    }
  }

  // ----- logs --------------------------------------------------------------------------------

  /** A service's lines, from this node or from a member; ends when `signal` aborts (the client left). */
  async *logs(request: LogsRequest, signal: AbortSignal): AsyncGenerator<LogItem | LogEnd> {
    const m = request.node === undefined ? this.self() : this.member(request.node)
    if (m.peerId === this.ctx.selfId) yield* this.localLogs(request, signal)
    else yield* this.remoteLogs(m, request, signal)
  }

  private async *localLogs(request: LogsRequest, signal: AbortSignal): AsyncGenerator<LogItem | LogEnd> {
    const runtime = this.requireRuntime()
    await this.checkService(runtime, request.service)
    const node = this.ctx.config.name
    const stop = AbortSignal.any([signal, this.stopping.signal])
    try {
      for await (const line of runtime.logs(request.service, { tail: request.tail, since: request.since, follow: request.follow === true, signal: stop })) {
        yield { time: line.time.toISOString(), node, stream: line.stream, text: line.text }
      }
    } catch (err) {
      throw asOperatorError(err)
    }
    if (request.follow && !signal.aborted) yield { node, ended: this.stopping.signal.aborted ? 'stopping' : 'removed' }
  }

  /** Serves SERVICE_LOGS_PROTOCOL: until the asker resets the stream, the service is removed or this node stops. */
  private async serveLogs(stream: Stream, remote: PeerId): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: MAX_LOG_MESSAGE_BYTES })
    const gone = new AbortController()
    const onClose = (): void => gone.abort()
    stream.addEventListener('close', onClose)
    if (stream.status !== 'open') gone.abort()
    this.logStreams++
    try {
      const raw = await lp.read({ signal: AbortSignal.any([gone.signal, AbortSignal.timeout(LOGS_OPEN_TIMEOUT_MS)]) })
      this.checkMember(remote)
      const request = parseLogsRequest(decodeJson(raw.subarray()) ?? {})
      let ended: LogEnd['ended'] | undefined
      for await (const item of this.localLogs({ ...request, node: undefined }, gone.signal)) {
        if ('ended' in item) ended = item.ended
        else await lp.write(encodeJson({ line: item }), { signal: gone.signal })
      }
      if (gone.signal.aborted) return
      await lp.write(encodeJson({ end: true, ...(ended ? { reason: ended } : {}) }), { signal: gone.signal })
      await stream.close({ signal: AbortSignal.timeout(LOGS_OPEN_TIMEOUT_MS) })
    } catch (err) {
      if (gone.signal.aborted) return
      try {
        await lp.write(encodeJson(errorReply(asOperatorError(err))), { signal: AbortSignal.timeout(LOGS_OPEN_TIMEOUT_MS) })
        await stream.close({ signal: AbortSignal.timeout(LOGS_OPEN_TIMEOUT_MS) })
      } catch {
        stream.abort(err as Error)
      }
    } finally {
      stream.removeEventListener('close', onClose)
      this.logStreams--
    }
  }

  /** Asks `m` for the lines; aborting `signal` resets the stream, which ends it on `m` too. */
  private async *remoteLogs(m: Member, request: LogsRequest, signal: AbortSignal): AsyncGenerator<LogItem | LogEnd> {
    let stream: Stream
    try {
      stream = await this.ctx.mesh.dialProtocol(peerIdFromString(m.peerId), SERVICE_LOGS_PROTOCOL, { signal: AbortSignal.any([signal, AbortSignal.timeout(LOGS_OPEN_TIMEOUT_MS)]) })
    } catch (err) {
      if (signal.aborted) return
      throw unreachable(m.name, err)
    }
    const onAbort = (): void => stream.abort(new Error('the asker closed the log stream'))
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_LOG_MESSAGE_BYTES })
      const wire = { service: request.service, tail: request.tail, since: request.since?.toISOString(), follow: request.follow === true }
      await lp.write(encodeJson(wire), { signal })
      for (;;) {
        const raw = await lp.read({ signal })
        const message = decodeJson(raw.subarray()) as { line?: LogItem, end?: boolean, reason?: LogEnd['ended'], error?: Record<string, unknown> } | undefined
        if (message?.error) throw operatorErrorFromJSON(message.error)
        if (message?.end === true) {
          await stream.close({ signal: AbortSignal.timeout(LOGS_OPEN_TIMEOUT_MS) }).catch(() => undefined)
          if (message.reason) yield { node: m.name, ended: message.reason }
          return
        }
        if (message?.line) yield { ...message.line, node: m.name }
      }
    } catch (err) {
      if (signal.aborted) return
      if (isOperatorError(err)) throw err
      throw new OperatorError('PRYV_NODE_UNREACHABLE', `The log stream from ${m.name} broke: ${explainDialError(err)}.`, {
        hint: `Check that ${m.name} still runs (\`pryv-node status\`), then ask again.`,
        exitCode: ExitCode.unreachable,
        cause: err
      })
    } finally {
      signal.removeEventListener('abort', onAbort)
      if (stream.status === 'open') stream.abort(new Error('the asker closed the log stream'))
    }
  }

  // ----- restart -----------------------------------------------------------------------------

  /** Restarts the service on `m` and resolves once it is healthy there. */
  async restartOn(m: Member, service: string): Promise<RestartResult> {
    if (m.peerId === this.ctx.selfId) return this.restartHere(service, this.ctx.config.name)
    let reply: RestartResult & { error?: Record<string, unknown> }
    try {
      reply = await callRpc(this.ctx.mesh, peerIdFromString(m.peerId), SERVICE_RESTART_PROTOCOL, { service }, AbortSignal.timeout(RESTART_CALL_TIMEOUT_MS)) as typeof reply
    } catch (err) {
      if (err instanceof RpcFailedError && err.requestSent) {
        throw new OperatorError('PRYV_NODE_UNREACHABLE', `${m.name} did not report the restart of ${service}: ${explainDialError(err)}.`, {
          hint: `It may have restarted anyway: check with \`pryv-node services --node ${m.name}\`.`,
          exitCode: ExitCode.unreachable,
          cause: err
        })
      }
      throw unreachable(m.name, err)
    }
    if (reply.error) throw operatorErrorFromJSON(reply.error)
    return reply
  }

  private async restartHere(service: string, by: string): Promise<RestartResult> {
    const runtime = this.requireRuntime()
    await this.checkService(runtime, service)
    const started = performance.now()
    const signal = AbortSignal.timeout(RESTART_BUDGET_MS)
    try {
      const before = await runtime.status(service, { signal })
      this.ctx.log.info({ service, by }, 'restarting a service on request')
      await runtime.restart(service, { signal })
      const after = await runtime.waitHealthy(service, signal)
      return { node: this.ctx.config.name, service, before: this.row(before), after: this.row(after), durationMs: Math.round(performance.now() - started) }
    } catch (err) {
      throw asOperatorError(err)
    }
  }

  /**
   * Restarts the service on every member that runs it, one at a time in order of name, each healthy
   * before the next starts. A member that fails stops the rollout (the rest are not attempted); one
   * that does not answer is reported and skipped.
   */
  async *restartAll(service: string, signal: AbortSignal): AsyncGenerator<RestartStep> {
    const { nodes } = await this.list()
    const plan: PlannedRestart[] = nodes.map((n) => {
      if (n.error?.code === 'PRYV_NODE_UNREACHABLE') return { node: n.node, action: 'unreachable', reason: n.error.message }
      if (n.error) return { node: n.node, action: 'skip', reason: n.error.message }
      if (n.runtime === null) return { node: n.node, action: 'skip', reason: 'services not run on this node' }
      if (!n.services.some((s) => s.name === service)) return { node: n.node, action: 'skip', reason: `no service ${service} there` }
      return { node: n.node, action: 'restart' }
    })
    if (!plan.some((p) => p.action === 'restart')) {
      const known = [...new Set(nodes.flatMap((n) => n.services.map((s) => s.name)))].sort()
      if (known.length === 0 && nodes.every((n) => n.error === undefined)) {
        throw new OperatorError('PRYV_SERVICES_NOT_RUN', 'No member runs services (they were all started with --services none).', {
          hint: 'Start the nodes with --services process to run the release\'s services.',
          exitCode: ExitCode.conflict
        })
      }
      if (known.length > 0 || plan.every((p) => p.action !== 'unreachable')) throw notFound(service, 'any member that answered', known)
      throw new OperatorError('PRYV_NODE_UNREACHABLE', `No member that runs ${service} answered.`, { hint: 'See which members are up with `pryv-node status`.', exitCode: ExitCode.unreachable })
    }
    yield { kind: 'plan', service, nodes: plan }
    let failed = false
    for (const p of plan) {
      if (p.action !== 'restart') continue
      if (signal.aborted) return
      if (failed) {
        yield { kind: 'node', node: p.node, outcome: 'not-attempted' }
        continue
      }
      try {
        yield { kind: 'node', node: p.node, outcome: 'restarted', result: await this.restartOn(this.member(p.node), service) }
      } catch (err) {
        const e = asOperatorError(err)
        if (!isOperatorError(e)) throw e
        const unreachableNode = e.exitCode === ExitCode.unreachable
        failed ||= !unreachableNode
        yield { kind: 'node', node: p.node, outcome: unreachableNode ? 'unreachable' : 'failed', error: e.toJSON() }
      }
    }
  }

  // ----- helpers -----------------------------------------------------------------------------

  private checkMember(remote: PeerId): void {
    if (!this.ctx.replica.state.members.has(remote.toString())) {
      throw new OperatorError('PRYV_NOT_A_MEMBER', 'only members may read or restart services', { exitCode: ExitCode.conflict })
    }
  }

  private requireRuntime(): Runtime {
    const runtime = this.runtime()
    if (!runtime) throw notRun(this.ctx.config.name)
    return runtime
  }

  /** Throws PRYV_RUNTIME_SERVICE_NOT_FOUND, listing the node's services, unless it runs `service`. */
  private async checkService(runtime: Runtime, service: string): Promise<void> {
    let names: string[]
    try {
      names = (await runtime.list({ signal: AbortSignal.timeout(LIST_TIMEOUT_MS) })).map((s) => s.name).sort()
    } catch (err) {
      throw asOperatorError(err)
    }
    if (!names.includes(service)) throw notFound(service, this.ctx.config.name, names)
  }

  private members(): Member[] {
    return [...this.ctx.replica.state.members.values()].sort((a, b) => compareText(a.name, b.name))
  }

  private self(): Member {
    return this.ctx.replica.state.members.get(this.ctx.selfId) ?? { peerId: this.ctx.selfId, name: this.ctx.config.name, role: 'observer', addresses: [], joinedAt: 0 }
  }

  /** A node name or peer id → the member. */
  private member(nameOrId: string): Member {
    for (const m of this.ctx.replica.state.members.values()) {
      if (m.name === nameOrId || m.peerId === nameOrId) return m
    }
    const names = this.members().map((m) => m.name)
    throw new OperatorError('PRYV_NODE_UNKNOWN', `${capitalize(unknownMessage('node', nameOrId, names))}.`, {
      hint: `Name a member of the platform: ${names.join(', ')}.`,
      exitCode: ExitCode.invalidInput,
      details: { members: names }
    })
  }
}

function notFound(service: string, where: string, services: readonly string[]): OperatorError {
  const guess = closest(service, services)
  return new OperatorError('PRYV_RUNTIME_SERVICE_NOT_FOUND', `No service '${service}' on ${where}${guess === undefined ? '.' : ` — did you mean '${guess}'?`}`, {
    hint: services.length > 0 ? `Services there: ${services.join(', ')} (\`pryv-node services\` lists every node's).` : 'It runs no services yet (`pryv-node services` lists every node\'s).',
    exitCode: ExitCode.invalidInput,
    details: { service, services }
  })
}

function notRun(node: string): OperatorError {
  return new OperatorError('PRYV_SERVICES_NOT_RUN', `${node} does not run services (it was started with --services none).`, {
    hint: 'Name a node that runs them with --node (`pryv-node services` shows which do), or start this node with --services process.',
    exitCode: ExitCode.conflict
  })
}

function unreachable(node: string, err: unknown): OperatorError {
  return new OperatorError('PRYV_NODE_UNREACHABLE', `${node} did not answer: ${explainDialError(err)}.`, {
    hint: `Check that ${node} runs (\`pryv-node status\` shows when it was last seen).`,
    exitCode: ExitCode.unreachable,
    cause: err
  })
}

/** Runtime errors read as sentences to an operator (same code, hint and exit code); anything else is returned as it is. */
function asOperatorError(err: unknown): unknown {
  if (!(err instanceof RuntimeError)) return err
  return new OperatorError(err.code, `${capitalize(err.message)}.`, { hint: `${capitalize(err.hint)}.`, exitCode: err.exitCode, cause: err })
}

function capitalize(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`
}

const usage = (message: string): OperatorError => new OperatorError('PRYV_USAGE', message, { exitCode: ExitCode.usage })

function optionalString(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'string' || v === '') throw usage(`${what} must be a name.`)
  return v
}

function requiredService(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw usage('Name the service.')
  return v
}

/** Control-socket (and mesh) parameters of `services.logs`: `since` as ISO 8601. */
export function parseLogsRequest(input: unknown): LogsRequest {
  const p = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>
  const tail = p.tail === undefined || p.tail === null ? undefined : p.tail
  if (tail !== undefined && (!Number.isSafeInteger(tail) || (tail as number) < 0)) throw usage('The tail is a whole number of lines.')
  let since: Date | undefined
  if (p.since !== undefined && p.since !== null) {
    since = new Date(typeof p.since === 'string' ? p.since : Number.NaN)
    if (Number.isNaN(since.getTime())) throw usage('since must be an ISO 8601 time.')
  }
  return { service: requiredService(p.service), node: optionalString(p.node, 'The node'), tail: tail as number | undefined, since, follow: p.follow === true }
}

/** Control-socket parameters of `services.restart` and `services.restartAll`. */
export function parseRestartRequest(p: Record<string, unknown>): { service: string, node?: string } {
  return { service: requiredService(p.service), node: optionalString(p.node, 'The node') }
}
