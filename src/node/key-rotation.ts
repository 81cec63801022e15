import { setTimeout as sleep } from 'node:timers/promises'
import { ExitCode, OperatorError } from '../errors.js'
import { keyId, newPlatformKeyHex, type PlatformKeyring } from '../mesh/keys.js'
import type { Command, StampedCommand } from '../state/commands.js'
import type { NodeContext } from './context.js'
import type { DataDir } from './data-dir.js'
import { explainDialError, KEY_MISMATCH } from './dial-errors.js'
import type { Membership } from './membership.js'
import type { WriteOutcome } from './writes.js'

type RotationStep = 'add' | 'use' | 'window' | 'retire' | 'done' | 'failed'

/** Where a rotation started on this node stands. */
export interface RotationProgress {
  readonly keyId: string
  step: RotationStep
  readonly startedAt: string
  readonly windowMs: number
  /** Revisions of the rotation's entries (add, use, retire): its audit trail in the log. */
  readonly revisions: number[]
  /** Members that had not applied the last step when the rotation went on (down, or behind). */
  lagging: string[]
  error?: string
}

/** How long this node must have been cut off, its dials refused for the key, before it says so. */
const REFUSED_FOR_MS = 10_000

/**
 * Platform key rotation through the log. `rotate` (on any member) proposes three entries: `add` (every
 * member accepts the new key besides the old one), `use` (every member dials with the new key), and
 * after a transition window `retire` (every member refuses the old key). Each waits until the members
 * that are up have applied the step before it, so no connection between them is ever refused. Every
 * node follows the steps in its keyring and records its keys in node.json. A member that was down
 * during the whole rotation is refused when it comes back: it notices that the members refuse its key
 * and says how to come back (rejoin with an invite).
 */
export class KeyRotation {
  private followAfter = 0
  private progress?: RotationProgress
  private saving: Promise<void> = Promise.resolve()
  private readonly keyRefusals = new Map<string, number>()
  private cutOffSince?: number
  private warnedCutOff = false
  private timer?: NodeJS.Timeout

  constructor(
    private readonly ctx: NodeContext,
    private readonly keyring: PlatformKeyring,
    private readonly dataDir: DataDir,
    private readonly membership: Membership,
    private readonly write: (command: Command) => Promise<WriteOutcome>
  ) {}

  start(): void {
    this.ctx.replica.on('applied', (entry, command) => {
      if (command.kind === 'mesh.key' && entry.revision > this.followAfter) this.follow(command)
    })
    this.membership.onDialFailed = (peerId, err) => {
      if (explainDialError(err).includes(KEY_MISMATCH)) this.keyRefusals.set(peerId, this.ctx.monotonic())
    }
    this.timer = setInterval(() => this.checkCutOff(), 2000)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }

  /** A joining node got its keys in the join reply as of `revision`: earlier rotation steps are already in them. */
  keysAsOf(revision: number): void {
    this.followAfter = revision
  }

  handlers(): Record<string, (params: Record<string, unknown>) => Promise<unknown>> {
    return {
      'mesh.rotateKey': async (p) => this.rotate(parseWindow(p.windowMs)),
      'mesh.keyStatus': async () => this.status()
    }
  }

  status(): Record<string, unknown> {
    return {
      keyId: this.keyring.current ? keyId(this.keyring.current) : null,
      accepted: this.keyring.accepted.map(keyId),
      rotation: this.progress ?? null,
      refusedByMembers: this.warnedCutOff
    }
  }

  /** Starts a rotation; its progress is read with `status`. */
  async rotate(windowMs: number): Promise<RotationProgress> {
    if (this.progress && this.progress.step !== 'done' && this.progress.step !== 'failed') {
      throw new OperatorError('PRYV_ROTATION_RUNNING', `A key rotation (key ${this.progress.keyId}) is already running on this node.`, {
        hint: 'Wait for it: `pryv-node mesh key-status`.',
        exitCode: ExitCode.conflict
      })
    }
    if (!this.ctx.replica.state.members.has(this.ctx.selfId)) {
      throw new OperatorError('PRYV_NOT_A_MEMBER', 'This node is not a member of the platform.', { exitCode: ExitCode.conflict })
    }
    const key = newPlatformKeyHex()
    const progress: RotationProgress = { keyId: keyId(key), step: 'add', startedAt: new Date().toISOString(), windowMs, revisions: [], lagging: [] }
    this.progress = progress
    this.ctx.log.info({ keyId: progress.keyId }, 'platform key rotation started')
    void this.run(progress, key).catch((err) => {
      progress.step = 'failed'
      progress.error = (err as Error).message
      this.ctx.log.warn({ keyId: progress.keyId, err: progress.error }, 'platform key rotation failed; members keep accepting the keys they accept now (start a new rotation)')
    })
    return progress
  }

  private async run(progress: RotationProgress, key: string): Promise<void> {
    await this.step(progress, { kind: 'mesh.key', step: 'add', keyId: progress.keyId, platformKeyHex: key })
    progress.step = 'use'
    await this.step(progress, { kind: 'mesh.key', step: 'use', keyId: progress.keyId })
    // Both keys are accepted everywhere for the window: members that were briefly away still reconnect.
    progress.step = 'window'
    await sleep(progress.windowMs)
    progress.step = 'retire'
    await this.step(progress, { kind: 'mesh.key', step: 'retire', keyId: progress.keyId })
    progress.step = 'done'
    this.ctx.log.info({ keyId: progress.keyId, revisions: progress.revisions, lagging: progress.lagging }, 'platform key rotation done')
  }

  /** Commits one step, then waits (at most the window) until the members that are up have applied it. */
  private async step(progress: RotationProgress, command: Command): Promise<void> {
    const { revision, result } = await this.write(command)
    if (!result.ok) throw new Error(`the platform refused the ${progress.step} step: ${result.message}`)
    progress.revisions.push(revision)
    const deadline = this.ctx.monotonic() + Math.max(progress.windowMs, 5000)
    for (;;) {
      progress.lagging = this.lagging(revision)
      if (progress.lagging.length === 0 || this.ctx.monotonic() >= deadline) return
      await sleep(200)
    }
  }

  /** Names of the members that have not applied `revision` yet, down ones included. */
  private lagging(revision: number): string[] {
    const out: string[] = []
    for (const m of this.ctx.replica.state.members.values()) {
      const view = this.membership.view(m.peerId)
      if (!view.alive || (view.lastHeartbeat?.revision ?? 0) < revision) out.push(m.name)
    }
    return out.sort()
  }

  private follow(command: Extract<StampedCommand, { kind: 'mesh.key' }>): void {
    const key = command.step === 'add' ? command.platformKeyHex : this.keyring.accepted.find((k) => keyId(k) === command.keyId)
    if (!key) {
      this.ctx.log.warn({ keyId: command.keyId, step: command.step }, 'a platform key rotation step names a key this node does not hold; ignoring it')
      return
    }
    if (command.step === 'add') this.keyring.accept(key)
    else {
      this.keyring.switchTo(key)
      if (command.step === 'retire') this.keyring.retireOthers()
    }
    this.ctx.log.info({ keyId: command.keyId, step: command.step }, 'platform key rotation step applied')
    const current = this.keyring.current as string
    const accepted = [...this.keyring.accepted]
    this.saving = this.saving.then(() => this.dataDir.writePlatformKeys(current, accepted)).catch((err) => {
      // A joining node has no node.json yet: it writes its keys when the join completes.
      this.ctx.log.debug({ err: (err as Error).message }, 'platform keys not recorded in node.json')
    })
  }

  /**
   * A member cut off from every other member, whose dials are refused as with a wrong key, missed a
   * rotation (it was down during the whole of it): say so once, and how to come back.
   */
  private checkCutOff(): void {
    const others = [...this.ctx.replica.state.members.values()].filter((m) => m.peerId !== this.ctx.selfId)
    const now = this.ctx.monotonic()
    const connected = others.some((m) => this.ctx.mesh.getConnections().some((c) => c.remotePeer.toString() === m.peerId))
    const refused = others.some((m) => now - (this.keyRefusals.get(m.peerId) ?? -Infinity) < REFUSED_FOR_MS)
    if (others.length === 0 || connected || !refused) {
      this.cutOffSince = undefined
      this.warnedCutOff = false
      return
    }
    this.cutOffSince ??= now
    if (this.warnedCutOff || now - this.cutOffSince < REFUSED_FOR_MS) return
    this.warnedCutOff = true
    const name = this.ctx.config.name
    this.ctx.log.error({
      code: 'PRYV_PLATFORM_KEY_REFUSED',
      hint: `On a member: \`pryv-node members remove ${name}\` and \`pryv-node invite create\`. Here: stop this node, move its data dir away, and run \`pryv-node join-platform <invite> --name ${name}\`.`
    }, 'the members refuse this node\'s platform key: it was most likely rotated while this node was down (a rotation retires the old key after its transition window)')
  }
}

function parseWindow(raw: unknown): number {
  const windowMs = Number(raw ?? 10_000)
  if (!Number.isSafeInteger(windowMs) || windowMs < 0 || windowMs > 24 * 3_600_000) {
    throw new OperatorError('PRYV_USAGE', 'The transition window must be between 0 and 24 hours.', { exitCode: ExitCode.usage })
  }
  return windowMs
}
