import { peerIdFromString } from '@libp2p/peer-id'
import { ExitCode, OperatorError, operatorErrorFromJSON } from '../errors.js'
import { callRpc, handleRpc, Protocols } from '../mesh/rpc.js'
import { tokenMatches } from '../membership/invite.js'
import { type Command, InvalidCommandError, type NewMember, parseCommand } from '../state/commands.js'
import type { ApplyResult } from '../state/machine.js'
import type { NodeContext } from './context.js'
import { errorReply } from './wire-errors.js'

export interface WriteOutcome {
  readonly revision: number
  readonly result: ApplyResult
}

/** A join to be checked by the writer: the token is verified there and never enters the log. */
export interface JoinProposal {
  readonly inviteId: string
  readonly token: string
  readonly member: NewMember
}

type ProposeRequest = { command: Command } | { join: JoinProposal }

const WRITE_TIMEOUT_MS = 10_000

/**
 * Routes writes to the platform's writer and returns once the entry is committed and applied on
 * this node (read-your-writes). Until the writer set exists, the writer is the platform's founder.
 */
export class Writes {
  constructor(
    private readonly ctx: NodeContext,
    /** Publishes a committed entry to the mesh (set by replication). */
    private readonly publish: (entry: import('../state/entry.js').SignedEntry) => void
  ) {}

  async start(): Promise<void> {
    await handleRpc(this.ctx.mesh, Protocols.propose, async (request, remote) => {
      if (!this.ctx.replica.state.members.has(remote.toString())) {
        return errorReply(new OperatorError('PRYV_NOT_A_MEMBER', 'only members may propose writes', { exitCode: ExitCode.conflict }))
      }
      return this.proposeLocally(request as ProposeRequest)
    }, errorReply)
  }

  /** The one node that appends to the log (the founder, until the writer set replaces it). */
  private leader(): string | undefined {
    return this.ctx.replica.state.platform?.founder
  }

  isWriter(): boolean {
    return this.leader() === this.ctx.selfId
  }

  async submit(command: Command): Promise<WriteOutcome> {
    return this.route({ command })
  }

  async submitJoin(join: JoinProposal): Promise<WriteOutcome> {
    return this.route({ join })
  }

  private async route(request: ProposeRequest): Promise<WriteOutcome> {
    const signal = AbortSignal.timeout(WRITE_TIMEOUT_MS)
    let outcome: WriteOutcome
    if (this.isWriter()) {
      outcome = await this.proposeLocally(request)
    } else {
      const writer = this.leader()
      if (!writer) throw new OperatorError('PRYV_NO_WRITER', 'This node does not know the platform yet, so it cannot write.', { exitCode: ExitCode.unreachable })
      let reply: unknown
      try {
        reply = await callRpc(this.ctx.mesh, peerIdFromString(writer), Protocols.propose, request, signal)
      } catch (err) {
        throw new OperatorError('PRYV_WRITER_UNREACHABLE', `The platform's writer (${this.memberName(writer)}) cannot be reached: ${(err as Error).message}.`, {
          hint: 'Check that the writer node runs and that this node can reach it (`pryv-node status`).',
          exitCode: ExitCode.unreachable,
          cause: err
        })
      }
      outcome = parseWriteReply(reply)
    }
    await this.ctx.replica.waitFor(outcome.revision, signal).catch(() => {
      throw new OperatorError('PRYV_WRITE_NOT_APPLIED', `The write was committed as revision ${outcome.revision} but this node has not applied it yet.`, {
        hint: 'It will arrive through replication; check `pryv-node status`.',
        exitCode: ExitCode.unreachable
      })
    })
    return outcome
  }

  /** Runs on the writer: validates, appends, publishes. */
  private async proposeLocally(request: ProposeRequest): Promise<WriteOutcome> {
    if (!this.isWriter()) throw new OperatorError('PRYV_NOT_WRITER', 'this node is not a writer', { exitCode: ExitCode.conflict })
    let command: Command
    if ('join' in request && request.join) {
      command = this.joinCommand(request.join)
    } else if ('command' in request && request.command) {
      command = request.command
    } else {
      throw new OperatorError('PRYV_RPC_MALFORMED', 'the proposal holds neither a command nor a join')
    }
    try {
      parseCommand({ ...command, at: 0, author: this.ctx.selfId })
    } catch (err) {
      if (err instanceof InvalidCommandError) throw new OperatorError('PRYV_COMMAND_INVALID', `The write is not valid: ${err.message}.`)
      throw err
    }
    const { entry, result } = await this.ctx.replica.append(command, this.ctx.identity, this.ctx.selfId, this.ctx.now())
    if (entry) this.publish(entry)
    return { revision: entry?.revision ?? this.ctx.replica.revision, result }
  }

  private joinCommand(join: JoinProposal): Command {
    const invite = this.ctx.replica.state.invites.get(join.inviteId)
    if (!invite || typeof join.token !== 'string' || !tokenMatches(join.token, invite.tokenHash)) {
      throw new OperatorError('PRYV_INVITE_UNKNOWN', 'The platform does not know this invite.', {
        hint: 'Check that the invite was created on this platform, or create a new one with `pryv-node invite create`.',
        exitCode: ExitCode.conflict
      })
    }
    return { kind: 'member.join', inviteId: join.inviteId, member: join.member }
  }

  private memberName(peerId: string): string {
    return this.ctx.replica.state.members.get(peerId)?.name ?? peerId
  }
}

function parseWriteReply(reply: unknown): WriteOutcome {
  const r = reply as { revision?: unknown, result?: unknown, error?: unknown }
  if (r && typeof r === 'object' && r.error) throw operatorErrorFromJSON(r.error as Record<string, unknown>)
  if (!r || !Number.isSafeInteger(r.revision) || typeof r.result !== 'object') {
    throw new OperatorError('PRYV_RPC_MALFORMED', 'the writer sent a reply this node cannot read', { exitCode: ExitCode.internal })
  }
  return { revision: r.revision as number, result: r.result as ApplyResult }
}
