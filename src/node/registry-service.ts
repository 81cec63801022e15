import { randomInt } from 'node:crypto'
import type { Server } from 'node:http'
import { honoOnFirstRequest, http, type WebApp } from '../http-server.js'
import { ExitCode, OperatorError } from '../errors.js'
import type { NodeContext } from './context.js'
import type { WriteOutcome } from './writes.js'
import type { Command } from '../state/commands.js'
import type { ApplyResult } from '../state/machine.js'
import type { RegistryCommand } from '../state/registry.js'
import { type ImportReport, importInBatches } from '../registry/import.js'
import { formatRegisterAddress, parseRegisterListen } from '../registry/listen.js'
import { registrySettings } from '../registry/settings.js'

const KEY_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

/**
 * The node's user registry: serves the register HTTP API (when `listen` is set) from the replicated
 * state, and the `registry.*` control methods. Writes go through the writer set; consistent reads
 * share one read barrier among the requests waiting at the same time.
 */
export class RegistryService {
  private server?: Server
  private barrier?: Promise<void>
  private nextBarrier?: Promise<void>

  constructor(
    private readonly ctx: NodeContext,
    private readonly write: (command: Command) => Promise<WriteOutcome>,
    /** `host:port` (loopback) to serve the register API on; none when undefined. */
    private readonly listen: string | undefined
  ) {}

  /** `host:port` the API listens on, once started. */
  get bound(): string | undefined {
    const a = this.server?.address()
    return a && typeof a === 'object' ? formatRegisterAddress({ host: a.address, port: a.port }) : undefined
  }

  async start(): Promise<void> {
    if (this.listen === undefined) return
    const addr = parseRegisterListen(this.listen)
    // Loaded only on nodes that serve the API, when its first request arrives.
    const app = async (): Promise<WebApp> => (await import('../registry/api.js')).registryApp({
      state: () => this.ctx.replica.state,
      settings: () => registrySettings(this.ctx.replica.state, this.ctx.config.domain),
      submit: (command) => this.submit(command),
      consistent: () => this.consistent(),
      onInternalError: (err) => this.ctx.log.error({ err: (err as Error).stack ?? String(err) }, 'register API request failed'),
      randomKey: (length) => Array.from({ length }, () => KEY_CHARS[randomInt(KEY_CHARS.length)]).join('')
    })
    const server = http.createServer(honoOnFirstRequest(app, { overrideGlobalObjects: false, onError: (err) => this.ctx.log.error({ err: err.stack ?? String(err) }, 'the register API could not be loaded') }))
    server.headersTimeout = 10_000
    server.requestTimeout = 30_000
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new OperatorError(err.code === 'EADDRINUSE' ? 'PRYV_PORT_IN_USE' : 'PRYV_REGISTER_LISTEN_FAILED', `The register API cannot listen on ${formatRegisterAddress(addr)}: ${err.message}.`, {
        hint: 'Stop what uses that port, or choose another one with --register.',
        exitCode: ExitCode.environment,
        cause: err
      })))
      server.listen({ host: addr.host, port: addr.port, exclusive: true }, () => resolve())
    })
    server.on('error', (err) => this.ctx.log.warn({ err: err.message }, 'register API error'))
    this.server = server
    this.ctx.log.info({ url: `http://${this.bound}/` }, 'serving the register API')
  }

  async stop(): Promise<void> {
    const server = this.server
    this.server = undefined
    if (!server) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  async submit(command: RegistryCommand): Promise<ApplyResult> {
    return (await this.write(command)).result
  }

  /**
   * Waits until this node has applied every write acknowledged before the call: a read barrier through
   * the writer set. Callers that arrive while one is in flight share the next one.
   */
  consistent(): Promise<void> {
    if (!this.barrier) {
      this.barrier = this.write({ kind: 'read.barrier' }).then(() => undefined).finally(() => { this.barrier = undefined })
      return this.barrier
    }
    this.nextBarrier ??= this.barrier.catch(() => undefined).then(() => {
      this.nextBarrier = undefined
      return this.consistent()
    })
    return this.nextBarrier
  }

  /** Control-socket methods of `pryv-node registry …`. */
  handlers(): Record<string, (p: Record<string, unknown>) => Promise<unknown>> {
    return {
      'registry.import': async (p) => this.importUsers(p),
      'registry.users': async (p) => {
        if (p.consistent === true) await this.consistent()
        const state = this.ctx.replica.state
        const names = Array.isArray(p.usernames) ? p.usernames.map(String) : []
        const users = names.length === 0 ? [...state.registryUsers.values()] : names.map((n) => state.registryUsers.get(n)).filter((u) => u !== undefined)
        // Users whose core is no longer a member (removed): nothing serves them until they are moved.
        const memberNames = new Set([...state.members.values()].map((m) => m.name))
        const orphaned = Object.fromEntries([...state.registryCounts].filter(([core, n]) => n > 0 && !memberNames.has(core)))
        return { users, unknown: names.filter((n) => !state.registryUsers.has(n)), counts: Object.fromEntries(state.registryCounts), orphaned }
      }
    }
  }

  private async importUsers(p: Record<string, unknown>): Promise<ImportReport> {
    if (!Array.isArray(p.users)) throw new OperatorError('PRYV_USAGE', 'registry.import needs a list of users.', { exitCode: ExitCode.usage })
    return importInBatches(p.users, async (command) => {
      const result = await this.submit(command)
      if (!result.ok) throw new OperatorError(result.code, result.message, { exitCode: ExitCode.conflict })
      return result.value
    })
  }
}
