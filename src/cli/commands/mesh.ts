import { setTimeout as sleep } from 'node:timers/promises'
import type { Command } from 'commander'
import { ExitCode, OperatorError } from '../../errors.js'
import type { RotationProgress } from '../../node/key-rotation.js'
import type { CliContext } from '../context.js'
import { parseDuration } from '../parse.js'

interface KeyStatus { keyId: string | null, accepted: string[], rotation: RotationProgress | null, refusedByMembers: boolean }

export function registerMeshCommands(program: Command, ctx: CliContext): void {
  const mesh = program.command('mesh').description('The platform\'s private mesh: its key.')
  mesh.command('rotate-key')
    .description('Replace the platform key on every member, without downtime: members accept both keys, switch to the new one, then refuse the old one after the transition window. A member down during the whole rotation must rejoin with an invite.')
    .option('--window <duration>', 'how long both keys stay accepted once every member that is up dials with the new one (s, m, h)', parseDuration, 10_000)
    .option('--no-wait', 'return once the rotation has started (follow it with `mesh key-status`)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      let progress = await ctx.control('mesh.rotateKey', { windowMs: o.window }) as RotationProgress
      while (o.wait && progress.step !== 'done' && progress.step !== 'failed') {
        await sleep(500)
        progress = ((await ctx.control('mesh.keyStatus')) as KeyStatus).rotation ?? progress
      }
      if (progress.step === 'failed') {
        throw new OperatorError('PRYV_ROTATION_FAILED', `The key rotation failed: ${progress.error}.`, {
          hint: 'Members keep accepting the keys they accept now; see `pryv-node status`, then run `pryv-node mesh rotate-key` again.',
          exitCode: ExitCode.conflict
        })
      }
      if (o.json) ctx.io.out(JSON.stringify(progress))
      else if (progress.step !== 'done') ctx.io.out(`Key rotation to key ${progress.keyId} started; follow it with \`pryv-node mesh key-status\`.`)
      else {
        ctx.io.out(`The platform key is now ${progress.keyId} (log entries ${progress.revisions.join(', ')}); the old key is refused.`)
        if (progress.lagging.length > 0) ctx.io.out(`Not applied by: ${progress.lagging.join(', ')}. A member that was down during the whole rotation must rejoin: remove it (\`pryv-node members remove <name>\`), and join it again with a new invite.`)
      }
    })
  mesh.command('key-status')
    .description('The platform key in use (by its public id, never the key), the keys accepted, and the last rotation started here.')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const s = await ctx.control('mesh.keyStatus') as KeyStatus
      if (o.json) ctx.io.out(JSON.stringify(s, null, 2))
      else {
        ctx.io.out(`key ${s.keyId ?? 'none'}; accepted: ${s.accepted.join(', ') || 'none'}`)
        if (s.rotation) ctx.io.out(`last rotation: to ${s.rotation.keyId}, ${s.rotation.step}${s.rotation.error ? ` (${s.rotation.error})` : ''}`)
        if (s.refusedByMembers) ctx.io.out('The members refuse this node\'s key: it was rotated while this node was down. Rejoin with an invite.')
      }
    })
}
