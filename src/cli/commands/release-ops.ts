import { resolve } from 'node:path'
import type { SingleBar } from 'cli-progress'
import type { Command } from 'commander'
import { ExitCode, OperatorError } from '../../errors.js'
import type { ReleaseEvent } from '../../node/release-service.js'
import type { CliContext } from '../context.js'
import { readReleaseKey } from './release.js'
import { table } from '../format.js'
import { parseDuration } from '../parse.js'

interface HistoryEntry {
  revision: number
  at: string
  kind: 'apply' | 'rollback'
  name: string
  version: string
  digest: string
  from: string | null
  author: string
  message: string
  automatic: boolean
}

interface NodeRollout {
  node: string
  state: 'done' | 'pending' | 'failed' | 'unreachable'
  release?: string
  detail?: string
}

interface ReleaseStatus {
  revision: number
  current: HistoryEntry | null
  history: HistoryEntry[]
  nodes: NodeRollout[]
  complete: boolean
}

interface NodePlan {
  node: string
  create: string[]
  recreate: string[]
  restart: string[]
  remove: string[]
}

interface ApplyReply {
  from: { version: string, digest: string } | null
  to: { name: string, version: string, digest: string }
  signature: string
  unchanged?: boolean
  dryRun?: boolean
  migration?: unknown[]
  generatedSecrets?: string[]
  nodes: NodePlan[]
  revision?: number
}

const POLL_MS = 300

/** `release apply|status|rollback`: the operations that go through the platform's log. */
export function registerReleaseOpsCommands(release: Command, ctx: CliContext): void {
  release.command('apply')
    .description('Apply a release bundle to the whole platform: check it, migrate the settings, pull the images on every member, commit, then roll out (one canary node, then waves of the restart budget), gated on health. A failed health gate rolls the platform back by itself.')
    .argument('<bundle>', 'release directory or .tgz on this machine')
    .option('--dry-run', 'only show the migration and what would change on each node')
    .option('--key <pem>', 'public key file the bundle must be signed with (repeatable)', (v: string, all: string[]) => [...all, v], [])
    .option('-m, --message <text>', 'why (kept in the release history)')
    .option('--wait', 'follow the rollout until every node is done, or until the platform rolled back (exit code 8)')
    .option('--timeout <duration>', 'with --wait: give up waiting after this long (the rollout goes on)', parseDuration, 600_000)
    .option('--json', 'print JSON')
    .action(async (bundle: string, o) => {
      const keys = await Promise.all((o.key as string[]).map((file) => readReleaseKey(file, 'public key')))
      const startedMs = Date.now()
      const r = await withPullProgress(ctx, 'release.apply', { path: resolve(bundle), keys, dryRun: Boolean(o.dryRun), message: o.message }, Boolean(o.json)) as unknown as ApplyReply
      if (o.json && !o.wait) {
        ctx.io.out(JSON.stringify(r))
        return
      }
      if (!o.json) ctx.io.out(describeApply(r))
      if (!o.wait || r.dryRun || r.unchanged || r.revision === undefined) return
      const outcome = await follow(ctx, r.revision, r.to.digest, o.timeout as number, Boolean(o.json))
      const seconds = ((Date.now() - startedMs) / 1000).toFixed(1)
      if (o.json) ctx.io.out(JSON.stringify({ ...r, outcome: outcome.kind, seconds: Number(seconds), status: outcome.status }))
      else ctx.io.out(describeOutcome(outcome, seconds))
      ctx.setExitCode(outcome.kind === 'done' ? ExitCode.ok : outcome.kind === 'rolled-back' ? ExitCode.rolledBack : ExitCode.unreachable)
    })

  release.command('pull')
    .description('Have every member pull the images of a release bundle now (apply does it too, before it commits): to stage a release before a maintenance window.')
    .argument('<bundle>', 'release directory or .tgz on this machine')
    .option('--json', 'print JSON lines: progress events, then the result')
    .action(async (bundle: string, o) => {
      const r = await withPullProgress(ctx, 'release.pull', { path: resolve(bundle) }, Boolean(o.json))
      if (o.json) ctx.io.out(JSON.stringify(r))
      else ctx.io.out(`Every member has the images of ${String(r.name)} ${String(r.version)}.`)
    })

  release.command('status')
    .description('The release in force, its history, and each node\'s progress through the rollout.')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const s = await ctx.control('release.status') as ReleaseStatus
      if (o.json) ctx.io.out(JSON.stringify(s))
      else ctx.io.out(describeStatus(s))
      if (s.nodes.some((n) => n.state === 'failed')) ctx.setExitCode(ExitCode.conflict)
      else if (s.nodes.some((n) => n.state === 'unreachable')) ctx.setExitCode(ExitCode.unreachable)
    })

  release.command('rollback')
    .description('Go back to the release before the one in force, with every setting as it was before that release was applied (settings changed since are undone too).')
    .option('-m, --message <text>', 'why (kept in the release history)')
    .option('--wait', 'follow the rollout of the previous release until every node is done')
    .option('--timeout <duration>', 'with --wait: give up waiting after this long', parseDuration, 600_000)
    .option('--json', 'print JSON')
    .action(async (o) => {
      const startedMs = Date.now()
      const r = await ctx.control('release.rollback', { message: o.message }) as { revision: number, from: string, to: string }
      if (!o.json) ctx.io.out(`Rolling back from ${r.from} to ${r.to} (revision ${r.revision}).`)
      if (!o.wait) {
        if (o.json) ctx.io.out(JSON.stringify(r))
        return
      }
      const status = await ctx.control('release.status') as ReleaseStatus
      const outcome = await follow(ctx, r.revision, status.current?.digest ?? '', o.timeout as number, Boolean(o.json))
      const seconds = ((Date.now() - startedMs) / 1000).toFixed(1)
      if (o.json) ctx.io.out(JSON.stringify({ ...r, outcome: outcome.kind, seconds: Number(seconds) }))
      else ctx.io.out(describeOutcome(outcome, seconds))
      if (outcome.kind !== 'done') ctx.setExitCode(ExitCode.unreachable)
    })
}

/**
 * Calls a release method that streams pull progress before its result: a progress bar per image on
 * a terminal, a line per member when it is done, JSON lines with --json. Returns the result.
 */
async function withPullProgress(ctx: CliContext, method: string, params: Record<string, unknown>, json: boolean): Promise<Record<string, unknown>> {
  const { MultiBar, Presets } = await import('cli-progress')
  const bars = !json && process.stderr.isTTY ? new MultiBar({ format: '{node} {image} [{bar}] {status}', stream: process.stderr, hideCursor: true }, Presets.shades_classic) : undefined
  const byImage = new Map<string, { bar: SingleBar, layers: Map<string, { current: number, total: number }> }>()
  try {
    for await (const item of ctx.controlStream(method, params)) {
      const e = item as ReleaseEvent
      if (e.event === 'result') {
        const { event: _event, ...result } = e
        return result
      }
      if (json) {
        ctx.io.out(JSON.stringify(e))
        continue
      }
      if (e.event === 'pull' && bars) {
        const key = `${e.node} ${e.image}`
        let entry = byImage.get(key)
        if (!entry) {
          entry = { bar: bars.create(1, 0, { node: e.node, image: e.image, status: e.status }), layers: new Map() }
          byImage.set(key, entry)
        }
        if (e.layer && e.total) entry.layers.set(e.layer, { current: e.current ?? 0, total: e.total })
        const layers = [...entry.layers.values()]
        entry.bar.setTotal(Math.max(1, layers.reduce((n, l) => n + l.total, 0)))
        entry.bar.update(layers.reduce((n, l) => n + l.current, 0), { status: e.status })
      } else if (e.event === 'pulled') {
        ctx.io.err(`${e.node}: images ready${e.pulled.length > 0 ? ` (pulled ${e.pulled.join(', ')})` : ''}`)
      } else if (e.event === 'pull-failed') {
        ctx.io.err(`${e.node}: pull failed: ${e.message}`)
      } else if (e.event === 'pull-skipped') {
        ctx.io.err(`${e.node}: skipped: ${e.message}`)
      }
    }
  } finally {
    bars?.stop()
  }
  throw new OperatorError('PRYV_NO_REPLY', 'The node closed the connection without a result.', { hint: 'Check the node\'s log.', exitCode: ExitCode.internal })
}

type Outcome =
  | { kind: 'done', status: ReleaseStatus }
  | { kind: 'rolled-back', status: ReleaseStatus }
  | { kind: 'timeout', status: ReleaseStatus }

/**
 * Polls the rollout of the release committed at `revision` until every node is done, the platform
 * rolled back from it (then until the rollback itself is done), or time runs out. Shows a progress
 * bar on a terminal.
 */
async function follow(ctx: CliContext, revision: number, digest: string, timeoutMs: number, quiet: boolean): Promise<Outcome> {
  const deadline = Date.now() + timeoutMs
  const { SingleBar: Bar } = await import('cli-progress')
  const bar: SingleBar | undefined = !quiet && process.stderr.isTTY ? new Bar({ format: 'rollout [{bar}] {value}/{total} nodes {phase}', stream: process.stderr }) : undefined
  let rolledBack = false
  let shown = ''
  try {
    for (;;) {
      const status = await ctx.control('release.status') as ReleaseStatus
      const current = status.current
      if (!rolledBack && current && (current.revision !== revision || current.digest !== digest) && current.kind === 'rollback' && current.revision > revision) {
        rolledBack = true
        revision = current.revision
        if (!quiet) ctx.io.out(`The platform rolled back to ${current.version}: ${current.message}`)
      }
      const done = status.nodes.filter((n) => n.state === 'done').length
      if (bar) {
        if (shown === '') bar.start(status.nodes.length, done, { phase: '' })
        bar.update(done, { phase: rolledBack ? '(rolling back)' : '' })
      } else if (!quiet) {
        const line = status.nodes.map((n) => `${n.node}:${n.state}`).join(' ')
        if (line !== shown) ctx.io.out(line)
      }
      shown = shown || 'started'
      if (status.complete && current?.revision === revision) return { kind: rolledBack ? 'rolled-back' : 'done', status }
      if (Date.now() > deadline) return { kind: 'timeout', status }
      await new Promise((r) => setTimeout(r, POLL_MS))
    }
  } finally {
    bar?.stop()
  }
}

function describeApply(r: ApplyReply): string {
  const lines = [`Release ${r.to.name} ${r.from ? `${r.from.version} → ` : ''}${r.to.version} (digest ${r.to.digest.slice(0, 16)}); signature: ${r.signature}.`]
  if (r.unchanged) return `${lines[0]}\nThe platform already runs this release: nothing to do.`
  const migration = r.migration ?? []
  lines.push(migration.length === 0 ? 'Settings migration: none.' : `Settings migration:\n  ${migration.map((m) => typeof m === 'string' ? m : JSON.stringify(m)).join('\n  ')}`)
  if ((r.generatedSecrets ?? []).length > 0) lines.push(`New secrets generated: ${r.generatedSecrets!.join(', ')}.`)
  lines.push(table(['NODE', 'CREATE', 'RECREATE', 'RESTART', 'REMOVE'], r.nodes.map((n) => [n.node, list(n.create), list(n.recreate), list(n.restart), list(n.remove)])))
  lines.push(r.dryRun ? 'Dry run: nothing was applied.' : `Committed at revision ${r.revision}: rolling out (a canary node first, then waves of the restart budget).`)
  return lines.join('\n')
}

function describeOutcome(outcome: Outcome, seconds: string): string {
  const rows = table(['NODE', 'STATE', 'RELEASE', 'DETAIL'], outcome.status.nodes.map((n) => [n.node, n.state, n.release ?? '-', n.detail ?? '']))
  switch (outcome.kind) {
    case 'done': return `${rows}\nRolled out on every node in ${seconds} s.`
    case 'rolled-back': return `${rows}\nThe release failed its health gate; the platform is back on ${outcome.status.current?.version} (${seconds} s).`
    case 'timeout': return `${rows}\nStill rolling out after ${seconds} s; follow it with \`pryv-node release status\`.`
  }
}

function describeStatus(s: ReleaseStatus): string {
  if (!s.current) return 'The platform has no release yet.'
  const c = s.current
  const lines = [`Release ${c.name} ${c.version} (digest ${c.digest.slice(0, 16)}), in force since revision ${c.revision} (${c.kind}${c.automatic ? ', automatic' : ''}${c.message ? `: ${c.message}` : ''}).`]
  lines.push(table(['NODE', 'STATE', 'RELEASE', 'DETAIL'], s.nodes.map((n) => [n.node, n.state, n.release ?? '-', n.detail ?? ''])))
  lines.push('History:')
  lines.push(table(['REVISION', 'AT', 'KIND', 'VERSION', 'FROM', 'BY', 'MESSAGE'], s.history.map((h) => [String(h.revision), h.at, h.kind + (h.automatic ? ' (auto)' : ''), h.version, h.from ?? '-', h.author, h.message])))
  return lines.join('\n')
}

function list(items: string[]): string {
  return items.length === 0 ? '-' : items.join(',')
}
