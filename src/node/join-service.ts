import { ExitCode, OperatorError } from '../errors.js'
import { handleRpc, Protocols } from '../mesh/rpc.js'
import { isValidNodeName } from '../state/commands.js'
import type { NodeContext } from './context.js'
import { errorReply } from './wire-errors.js'
import type { Writes } from './writes.js'

/** What a joiner sends to any member named in its invite. */
export interface JoinRequest {
  readonly platformId: string
  readonly inviteId: string
  readonly token: string
  readonly name: string
  readonly addresses: readonly string[]
}

/**
 * Serves joins at every member: checks what it can locally, forwards the join to the writer (which
 * verifies the token against the stored hash), and answers once the new member is applied here, so
 * the joiner can read the log from this member straight away.
 */
export class JoinService {
  constructor(private readonly ctx: NodeContext, private readonly writes: Writes) {}

  async start(): Promise<void> {
    await handleRpc(this.ctx.mesh, Protocols.join, async (raw, remote) => {
      const req = parseJoinRequest(raw)
      if (req.platformId !== this.ctx.config.platformId) {
        throw new OperatorError('PRYV_INVITE_WRONG_PLATFORM', 'This invite is for another platform than the member it reached.', { exitCode: ExitCode.conflict })
      }
      const { revision, result } = await this.writes.submitJoin({
        inviteId: req.inviteId,
        token: req.token,
        // The role is the invite's: the writer takes it from the invite record when applying.
        member: { peerId: remote.toString(), name: req.name, role: 'observer', addresses: [...req.addresses] }
      })
      if (!result.ok) throw new OperatorError(result.code, `The platform refused the join: ${result.message}.`, { exitCode: ExitCode.conflict, hint: joinHint(result.code) })
      this.ctx.log.info({ member: req.name, peerId: remote.toString(), revision }, 'member joined')
      return { member: result.value, revision }
    }, errorReply)
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
