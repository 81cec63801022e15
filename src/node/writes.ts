import { peerIdFromString } from '@libp2p/peer-id'
import { ExitCode, isOperatorError, OperatorError, operatorErrorFromJSON } from '../errors.js'
import { callRpc, handleRpc, Protocols, RpcFailedError } from '../mesh/rpc.js'
import { tokenMatches } from '../membership/invite.js'
import { type Command, InvalidCommandError, type NewMember, parseCommand, type StampedCommand } from '../state/commands.js'
import { type ApplyResult, checkCommand } from '../state/machine.js'
import type { NodeContext } from './context.js'
import type { Membership } from './membership.js'
import { errorReply } from './wire-errors.js'
import type { WriterSet } from './writer-set/writer-set.js'

export interface WriteOutcome {
  readonly revision: number
  readonly result: ApplyResult
}

/** A join to be checked by the leader: the token is verified there and never enters the log. */
export interface JoinProposal {
  readonly inviteId: string
  readonly token: string
  readonly member: NewMember
}

type WriteRequest = { command: Command } | { join: JoinProposal }

interface ProposeMessage {
  readonly request: WriteRequest
  /** The node the write was made on, recorded as its author. */
  readonly origin: string
  /** How many times it was forwarded: an observer → a full node → the leader at most. */
  readonly hops: number
}

const WRITE_TIMEOUT_MS = 10_000
const MAX_HOPS = 2

/**
 * Routes writes to the writer set's leader and returns once the entry is committed and applied on
 * this node (read-your-writes). A full node forwards to the leader it knows; an observer goes
 * through the nearest full node (lowest measured round trip). While there is no leader (an
 * election), a write waits and retries until its deadline.
 */
export class Writes {
  private writerSet?: WriterSet
  private readonly rttMs = new Map<string, number>()
  private rttTimer?: NodeJS.Timeout

  constructor(private readonly ctx: NodeContext, private readonly membership: Membership) {}

  async start(): Promise<void> {
    await handleRpc(this.ctx.mesh, Protocols.propose, async (raw, remote) => {
      if (!this.ctx.replica.state.members.has(remote.toString())) {
        return errorReply(new OperatorError('PRYV_NOT_A_MEMBER', 'only members may propose writes', { exitCode: ExitCode.conflict }))
      }
      return this.serve(raw as ProposeMessage)
    }, errorReply)
    this.rttTimer = setInterval(() => void this.measureRtt(), 5000)
    this.rttTimer.unref()
  }

  stop(): void {
    clearInterval(this.rttTimer)
  }

  /** Set on full nodes once their writer set runs. */
  attach(writerSet: WriterSet): void {
    this.writerSet = writerSet
  }

  detach(): void {
    this.writerSet = undefined
  }

  /** `waitApplied` false returns once committed: for a node whose own removal it may never receive. */
  submit(command: Command, waitApplied = true): Promise<WriteOutcome> {
    return this.route({ command }, waitApplied)
  }

  submitJoin(join: JoinProposal): Promise<WriteOutcome> {
    return this.route({ join })
  }

  /** Proposes on this node, which must lead; used to found the platform. */
  async proposeAsLeader(command: Command): Promise<WriteOutcome> {
    const deadline = Date.now() + WRITE_TIMEOUT_MS
    while (!this.writerSet?.isLeader()) {
      if (Date.now() > deadline) throw new OperatorError('PRYV_NO_WRITER', 'This node did not become the writer set\'s leader in time.', { exitCode: ExitCode.unreachable })
      await sleep(20)
    }
    return this.proposeHere({ command }, this.ctx.selfId)
  }

  private async route(request: WriteRequest, waitApplied = true): Promise<WriteOutcome> {
    const startedAt = performance.now()
    const outcome = await this.routeUntilApplied(request, waitApplied)
    this.writerSet?.stages.record('total', performance.now() - startedAt)
    return outcome
  }

  private async routeUntilApplied(request: WriteRequest, waitApplied: boolean): Promise<WriteOutcome> {
    const deadline = Date.now() + WRITE_TIMEOUT_MS
    for (;;) {
      try {
        const outcome = await this.serve({ request, origin: this.ctx.selfId, hops: 0 })
        if (!waitApplied) return outcome
        await this.ctx.replica.waitFor(outcome.revision, AbortSignal.timeout(Math.max(1000, deadline - Date.now()))).catch(() => {
          throw new OperatorError('PRYV_WRITE_NOT_APPLIED', `The write was committed as revision ${outcome.revision} but this node has not applied it yet.`, {
            hint: 'It will arrive through replication; check `pryv-node status`.',
            exitCode: ExitCode.unreachable
          })
        })
        return outcome
      } catch (err) {
        if (!isOperatorError(err) || !RETRYABLE.has(err.code) || Date.now() > deadline) throw err
        // A full node retries as soon as it knows of another leader (an election ended).
        await (this.writerSet?.leaderChange(100) ?? sleep(100))
      }
    }
  }

  /** Proposes here if this node leads, else forwards one hop toward the leader. */
  private async serve(msg: ProposeMessage): Promise<WriteOutcome> {
    if (this.writerSet?.isLeader()) return this.proposeHere(msg.request, msg.origin)
    if (msg.hops >= MAX_HOPS) throw notLeader()
    const target = this.writerSet ? this.writerSet.leaderId() : this.nearestFullMember()
    if (!target || target === this.ctx.selfId) {
      throw new OperatorError('PRYV_NO_WRITER', 'No leader of the writer set is known to this node right now.', {
        hint: 'A majority of the full nodes must be up and reachable; check `pryv-node status`.',
        exitCode: ExitCode.unreachable
      })
    }
    let reply: unknown
    try {
      reply = await callRpc(this.ctx.mesh, peerIdFromString(target), Protocols.propose, { ...msg, hops: msg.hops + 1 }, AbortSignal.timeout(WRITE_TIMEOUT_MS))
    } catch (err) {
      if (err instanceof RpcFailedError && err.requestSent) {
        throw new OperatorError('PRYV_WRITE_OUTCOME_UNKNOWN', `The connection to ${this.memberName(target)} failed after the write was sent; it may or may not have been applied.`, {
          hint: 'Check with `pryv-node status` before retrying.',
          exitCode: ExitCode.unreachable,
          cause: err
        })
      }
      throw new OperatorError('PRYV_NO_WRITER', `The writer set cannot be reached through ${this.memberName(target)}: ${(err as Error).message}.`, {
        hint: 'A majority of the full nodes must be up and reachable; check `pryv-node status`.',
        exitCode: ExitCode.unreachable,
        cause: err
      })
    }
    return parseWriteReply(reply)
  }

  /** On the leader: validates, stamps, checks against the state, proposes and waits for the commit. */
  private async proposeHere(request: WriteRequest, origin: string): Promise<WriteOutcome> {
    const writerSet = this.writerSet
    if (!writerSet) throw notLeader()
    const checkedFrom = performance.now()
    const command = 'join' in request && request.join ? this.joinCommand(request.join) : 'command' in request ? request.command : undefined
    if (!command) throw new OperatorError('PRYV_RPC_MALFORMED', 'the proposal holds neither a command nor a join')
    let stamped: StampedCommand
    try {
      stamped = parseCommand({ ...command, at: this.ctx.now(), author: origin })
    } catch (err) {
      if (err instanceof InvalidCommandError) throw new OperatorError('PRYV_COMMAND_INVALID', `The write is not valid: ${err.message}.`)
      throw err
    }
    const veto = await writerSet.vetoMembershipCommand(stamped)
    if (veto) throw veto
    // Refused here, a write never enters the log; applying re-checks, for entries proposed concurrently.
    const refused = checkCommand(this.ctx.replica.state, stamped)
    if (refused) return { revision: this.ctx.replica.revision, result: refused }
    writerSet.stages.record('check', performance.now() - checkedFrom)
    try {
      return await writerSet.propose(JSON.stringify(stamped))
    } catch (err) {
      if ((err as Error).name === 'NotLeaderError' || (err as Error).name === 'ProposalDroppedError') throw notLeader()
      throw err
    } finally {
      if ('peerId' in stamped) writerSet.leavingSettled(stamped.peerId)
    }
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

  /** The full member with the lowest measured round trip among those that are up. */
  private nearestFullMember(): string | undefined {
    const candidates = [...this.ctx.replica.state.members.values()]
      .filter((m) => m.role === 'full' && m.peerId !== this.ctx.selfId && this.membership.view(m.peerId).alive)
      .map((m) => m.peerId)
    return candidates.sort((a, b) => (this.rttMs.get(a) ?? 1e9) - (this.rttMs.get(b) ?? 1e9))[0]
  }

  private async measureRtt(): Promise<void> {
    if (this.writerSet) return
    for (const m of this.ctx.replica.state.members.values()) {
      if (m.role !== 'full' || m.peerId === this.ctx.selfId) continue
      try {
        this.rttMs.set(m.peerId, await this.ctx.mesh.services.ping.ping(peerIdFromString(m.peerId), { signal: AbortSignal.timeout(2000) }))
      } catch {
        this.rttMs.delete(m.peerId)
      }
    }
  }

  private memberName(peerId: string): string {
    return this.ctx.replica.state.members.get(peerId)?.name ?? peerId
  }
}

const RETRYABLE = new Set(['PRYV_NOT_LEADER', 'PRYV_NO_WRITER', 'PRYV_WRITE_LOST'])

function notLeader(): OperatorError {
  return new OperatorError('PRYV_NOT_LEADER', 'This node does not lead the writer set (an election may be under way).', { exitCode: ExitCode.unreachable })
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

function parseWriteReply(reply: unknown): WriteOutcome {
  const r = reply as { revision?: unknown, result?: unknown, error?: unknown }
  if (r && typeof r === 'object' && r.error) throw operatorErrorFromJSON(r.error as Record<string, unknown>)
  if (!r || !Number.isSafeInteger(r.revision) || typeof r.result !== 'object') {
    throw new OperatorError('PRYV_RPC_MALFORMED', 'the writer sent a reply this node cannot read', { exitCode: ExitCode.internal })
  }
  return { revision: r.revision as number, result: r.result as ApplyResult }
}
