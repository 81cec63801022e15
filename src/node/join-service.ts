import type { PeerId, PrivateKey } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { ExitCode, OperatorError, operatorErrorFromJSON } from '../errors.js'
import { createJoinEndpoint, type JoinEndpoint, joinAddressesFor } from '../mesh/join-endpoint.js'
import type { PlatformKeyring } from '../mesh/keys.js'
import { callRpc, handleRpc, Protocols } from '../mesh/rpc.js'
import { hostOf, StrangerLimiter } from '../mesh/stranger-limiter.js'
import type { Invite } from '../membership/invite.js'
import { isValidNodeName } from '../state/commands.js'
import { type NodeContext, ownAddresses } from './context.js'
import { explainDialError } from './dial-errors.js'
import { errorReply } from './wire-errors.js'
import type { Writes } from './writes.js'

/** What a joiner sends to any member named in its invite. */
export interface JoinRequest {
  readonly platformId: string
  readonly inviteId: string
  readonly token: string
  readonly name: string
  /** Where the joiner's mesh listens (it takes the platform key only from the reply). */
  readonly addresses: readonly string[]
}

/** What the member answers once the join is committed and applied there. */
export interface JoinReply {
  readonly member: unknown
  readonly revision: number
  /** The platform key: handed over only here, to the new member, inside the noise-encrypted join connection. */
  readonly platformKeyHex: string
  /** The other platform keys accepted now (during a key rotation), and the revision the keys are as of. */
  readonly acceptedKeysHex: readonly string[]
  readonly keysAsOf: number
  /** The answering member's mesh addresses, without /p2p: the joiner reads the log from there. */
  readonly addresses: readonly string[]
}

/** A join connection is closed after this long, whatever it does (a join takes a few seconds). */
const JOIN_CONNECTION_MAX_MS = 60_000

/**
 * Serves joins at every member, on the join endpoint (outside the private network, so a joiner needs
 * no platform key): checks what it can locally, forwards the join to the writer (which verifies the
 * token against the stored hash), and answers once the new member is applied here, with the platform
 * key, so the joiner can enter the mesh and read the log from this member straight away. The endpoint
 * speaks nothing but the join protocol; an address that keeps failing joins is refused for a while.
 */
export class JoinService {
  private endpoint?: JoinEndpoint
  private sweep?: NodeJS.Timeout
  private readonly refusals = new StrangerLimiter({ refusals: 10, windowMs: 60_000, blockMs: 60_000 })

  constructor(
    private readonly ctx: NodeContext,
    private readonly writes: Writes,
    private readonly keyring: PlatformKeyring,
    private readonly isMemberHost: (host: string) => boolean
  ) {}

  async start(): Promise<void> {
    const listen = joinAddressesFor(this.ctx.config.listen)
    const endpoint = await createJoinEndpoint({
      privateKey: this.ctx.identity,
      listen,
      announce: this.ctx.config.announce ? joinAddressesFor(this.ctx.config.announce) : undefined,
      blocked: (host) => this.refusals.blocked(host, Date.now()) && !this.isMemberHost(host)
    })
    await handleRpc(endpoint, Protocols.join, async (raw, remote, connection) => {
      try {
        return await this.join(raw, remote)
      } catch (err) {
        const host = hostOf(connection.remoteAddr)
        if (host !== undefined) this.refusals.refused(host, Date.now())
        throw err
      }
    }, errorReply)
    try {
      await endpoint.start()
    } catch (err) {
      const inUse = /EADDRINUSE/.test(`${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`)
      // libp2p's message lists every address with the socket error's stack: the first line says enough.
      const reason = inUse ? 'the address is already in use' : (err as Error).message.split('\n')[0]!.replace(/[.:]$/, '')
      throw new OperatorError(inUse ? 'PRYV_PORT_IN_USE' : 'PRYV_LISTEN_FAILED', `The join endpoint cannot listen on ${listen.join(', ')}: ${reason}.`, {
        hint: 'The join endpoint listens on the mesh port + 1: free that port, or choose another mesh port with --listen.',
        exitCode: ExitCode.environment,
        cause: err
      })
    }
    this.endpoint = endpoint
    this.sweep = setInterval(() => {
      for (const conn of endpoint.getConnections()) {
        if (Date.now() - conn.timeline.open > JOIN_CONNECTION_MAX_MS) conn.close().catch(() => undefined)
      }
    }, 5000)
    this.sweep.unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.sweep)
    await this.endpoint?.stop()
  }

  /** Where this node's join endpoint is reached, without /p2p; empty before start. */
  addresses(): string[] {
    return this.endpoint ? [...new Set(this.endpoint.getMultiaddrs().map((ma) => ma.toString().replace(/\/p2p\/[^/]+$/, '')))] : []
  }

  private async join(raw: unknown, remote: PeerId): Promise<JoinReply> {
    const req = parseJoinRequest(raw)
    if (req.platformId !== this.ctx.config.platformId) {
      throw new OperatorError('PRYV_INVITE_WRONG_PLATFORM', 'This invite is for another platform than the member it reached.', { exitCode: ExitCode.conflict })
    }
    const platformKeyHex = this.keyring.current
    if (!platformKeyHex || !this.ctx.replica.state.members.has(this.ctx.selfId)) {
      throw new OperatorError('PRYV_NOT_A_MEMBER', 'The node this invite names has not joined the platform itself.', { exitCode: ExitCode.conflict, hint: 'Create an invite on a member that runs (`pryv-node invite create`).' })
    }
    const { revision, result } = await this.writes.submitJoin({
      inviteId: req.inviteId,
      token: req.token,
      // The role is the invite's: the writer takes it from the invite record when applying.
      member: { peerId: remote.toString(), name: req.name, role: 'observer', addresses: [...req.addresses] }
    })
    if (!result.ok) throw new OperatorError(result.code, `The platform refused the join: ${result.message}.`, { exitCode: ExitCode.conflict, hint: joinHint(result.code) })
    this.ctx.log.info({ member: req.name, peerId: remote.toString(), revision }, 'member joined')
    // The keyring follows each rotation step as it is applied: it reflects exactly the applied revision.
    const acceptedKeysHex = this.keyring.accepted.filter((k) => k !== this.keyring.current)
    return { member: result.value, revision, platformKeyHex: this.keyring.current as string, acceptedKeysHex, keysAsOf: this.ctx.replica.revision, addresses: ownAddresses(this.ctx.mesh) }
  }
}

/**
 * Redeems an invite from a joining machine: dials the join endpoints it names in turn (pinning each
 * member's identity) and returns the first member's answer with that member's peer id. A refusal is
 * final, whichever member gave it; if none can be reached, says which addresses were tried.
 */
export async function redeemInvite(invite: Invite, identity: PrivateKey, request: Pick<JoinRequest, 'name' | 'addresses'>): Promise<JoinReply & { memberPeerId: string }> {
  const client = await createJoinEndpoint({ privateKey: identity, listen: [] })
  await client.start()
  try {
    const failures: string[] = []
    for (const address of invite.addresses) {
      let reply: Partial<JoinReply> & { error?: Record<string, unknown> }
      try {
        reply = await callRpc(client, multiaddr(address), Protocols.join, { platformId: invite.platformId, inviteId: invite.inviteId, token: invite.token, ...request }, AbortSignal.timeout(15_000)) as typeof reply
      } catch (err) {
        failures.push(`${address}: ${explainDialError(err)}`)
        continue
      }
      if (reply.error) throw operatorErrorFromJSON(reply.error)
      if (typeof reply.platformKeyHex !== 'string' || !/^[0-9a-f]{64}$/.test(reply.platformKeyHex) || !Array.isArray(reply.addresses) || !reply.addresses.every((a) => typeof a === 'string')) {
        throw new OperatorError('PRYV_JOIN_REPLY_MALFORMED', `The member at ${address} answered the join with something this version cannot use.`, {
          hint: 'Check that the members run the same pryv-node version as this machine.',
          exitCode: ExitCode.conflict
        })
      }
      const acceptedKeysHex = Array.isArray(reply.acceptedKeysHex) ? reply.acceptedKeysHex.filter((k) => typeof k === 'string' && /^[0-9a-f]{64}$/.test(k)) : []
      return {
        member: reply.member,
        revision: reply.revision ?? 0,
        platformKeyHex: reply.platformKeyHex,
        acceptedKeysHex,
        keysAsOf: reply.keysAsOf ?? reply.revision ?? 0,
        addresses: reply.addresses,
        memberPeerId: address.split('/p2p/')[1] as string
      }
    }
    throw new OperatorError('PRYV_PLATFORM_UNREACHABLE', 'No member named in the invite could be reached.', {
      hint: `Tried:\n  ${failures.join('\n  ')}\nCheck that those members run and that this machine can reach their join port (the mesh port + 1: firewall, addresses), or create an invite on a member that is reachable.`,
      exitCode: ExitCode.unreachable,
      details: { tried: failures }
    })
  } finally {
    await client.stop()
  }
}

function joinHint(code: string): string | undefined {
  switch (code) {
    case 'PRYV_INVITE_EXPIRED':
    case 'PRYV_INVITE_USED':
    case 'PRYV_INVITE_REVOKED':
      return 'Create a new invite on a member with `pryv-node invite create` and use that one.'
    case 'PRYV_NAME_TAKEN':
      return 'Choose another name with --name.'
    default:
      return undefined
  }
}

function parseJoinRequest(raw: unknown): JoinRequest {
  const r = (raw ?? {}) as Record<string, unknown>
  const ok = typeof r.platformId === 'string' && typeof r.inviteId === 'string' && typeof r.token === 'string' &&
    typeof r.name === 'string' && Array.isArray(r.addresses) && r.addresses.length <= 32 && r.addresses.every((a) => typeof a === 'string')
  if (!ok) throw new OperatorError('PRYV_RPC_MALFORMED', 'the join request is malformed')
  if (!isValidNodeName(r.name as string)) {
    throw new OperatorError('PRYV_NAME_INVALID', `"${r.name}" cannot be a node name: use lowercase letters, digits and dashes (a DNS label).`, { exitCode: ExitCode.invalidInput })
  }
  return r as unknown as JoinRequest
}
