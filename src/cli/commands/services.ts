import { type Command, InvalidArgumentError, Option } from 'commander'
import { callControl, streamControl } from '../../control/client.js'
import { ExitCode } from '../../errors.js'
import { DataDir } from '../../node/data-dir.js'
import type { LogEnd, LogItem, RestartResult, RestartStep, ServiceRow, ServicesReply } from '../../node/service-ops.js'
import type { CliContext } from '../context.js'
import { table } from '../format.js'
import { parseDuration } from '../parse.js'

/** A restart waits for the service to be healthy on its node (up to 25 s there), plus the mesh. */
const RESTART_TIMEOUT_MS = 45_000
/** Without --follow, a log stream that stays silent this long has failed. */
const LOGS_IDLE_TIMEOUT_MS = 30_000

/** `pryv-node services`, `logs`, `restart`: the release's services on every member, through the local node. */
export function registerServiceCommands(program: Command, ctx: CliContext): void {
  const socket = (): string => new DataDir(ctx.globals().dataDir).controlSocket

  program.command('services')
    .description('Show the services of every member (asked in parallel): state, health, uptime, restarts and last exit code. Members that do not answer are listed with the reason (exit code 5).')
    .option('--node <node>', 'only this member (name or peer id)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  pryv-node services\n  pryv-node services --node core2 --json')
    .action(async (o: { node?: string, json?: boolean }) => {
      const r = await ctx.control('services.list', { node: o.node }) as ServicesReply
      ctx.io.out(o.json ? JSON.stringify(r, null, 2) : formatServices(r))
      const failed = r.nodes.filter((n) => n.error !== undefined)
      if (failed.length > 0) ctx.setExitCode(failed.some((n) => n.error?.exitCode === ExitCode.unreachable) ? ExitCode.unreachable : (failed[0]!.error!.exitCode ?? ExitCode.internal))
    })

  program.command('logs')
    .description('Print the output of a service, on this node or on another member: `<time> <node> <stream> <text>` per line. With --follow, keep printing new lines (across restarts of the service) until Ctrl-C.')
    .argument('<service>', 'service name (see `pryv-node services`)')
    .option('--node <node>', 'the member that runs it (name or peer id); default: this node')
    .addOption(new Option('-n, --tail <lines>', 'lines of past output, or "all"').argParser(parseTail).default(100))
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--since <when>', 'only lines written since then: a duration ago (30s, 10m, 2h, 1d) or an ISO 8601 time', parseSince)
    .option('--json', 'print one JSON object per line')
    .addHelpText('after', '\nExamples:\n  pryv-node logs demo-api\n  pryv-node logs demo-api --node core2 -n 20\n  pryv-node logs demo-web --node core3 -f --since 10m')
    .action(async (service: string, o: { node?: string, tail: number | 'all', follow?: boolean, since?: string, json?: boolean }) => {
      const stop = new AbortController()
      const onSignal = (): void => stop.abort()
      // Ctrl-C ends a follow cleanly: the connection closes, and the nodes stop streaming.
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      try {
        const params = { service, node: o.node, tail: o.tail === 'all' ? undefined : o.tail, since: o.since, follow: o.follow === true }
        const items = streamControl(socket(), 'services.logs', params, { signal: stop.signal, ...(o.follow ? {} : { idleTimeoutMs: LOGS_IDLE_TIMEOUT_MS }) })
        for await (const item of items as AsyncIterable<LogItem | LogEnd>) {
          if ('ended' in item) {
            if (!o.json) ctx.io.err(item.ended === 'removed' ? `${service} was removed on ${item.node}: no more lines.` : `${item.node} is stopping: no more lines.`)
            else ctx.io.out(JSON.stringify(item))
            continue
          }
          ctx.io.out(o.json ? JSON.stringify(item) : `${item.time} ${item.node} ${item.stream} ${item.text}`)
        }
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
    })

  program.command('restart')
    .description('Restart a service on this node, on one member (--node), or on every member that runs it (--all): one at a time, each healthy before the next; a member that fails stops the rollout.')
    .argument('<service>', 'service name (see `pryv-node services`)')
    .addOption(new Option('--node <node>', 'the member that runs it (name or peer id); default: this node').conflicts('all'))
    .option('--all', 'every member that runs it, one at a time')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  pryv-node restart demo-api\n  pryv-node restart demo-api --node core2\n  pryv-node restart demo-web --all')
    .action(async (service: string, o: { node?: string, all?: boolean, json?: boolean }) => {
      if (!o.all) {
        const r = await callControl(socket(), 'services.restart', { service, node: o.node }, RESTART_TIMEOUT_MS) as RestartResult
        ctx.io.out(o.json ? JSON.stringify(r, null, 2) : formatRestart(r))
        return
      }
      const steps: RestartStep[] = []
      for await (const step of streamControl(socket(), 'services.restartAll', { service }, { idleTimeoutMs: RESTART_TIMEOUT_MS }) as AsyncIterable<RestartStep>) {
        steps.push(step)
        if (!o.json) ctx.io.out(formatStep(step))
      }
      const summary = summarize(service, steps)
      ctx.io.out(o.json ? JSON.stringify({ service, steps }, null, 2) : summary.text)
      if (summary.exitCode !== ExitCode.ok) ctx.setExitCode(summary.exitCode)
    })
}

function parseTail(text: string): number | 'all' {
  if (text === 'all') return 'all'
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('use a whole number of lines, or all')
  return n
}

/** "10m" (that long ago) or an ISO 8601 time → ISO 8601. */
function parseSince(text: string): string {
  if (/^\d+\s*[smhd]$/.test(text.trim())) return new Date(Date.now() - parseDuration(text)).toISOString()
  const ms = Date.parse(text)
  if (Number.isNaN(ms)) throw new InvalidArgumentError('use a duration (30s, 10m, 2h, 1d) or an ISO 8601 time (2026-05-01T12:00:00Z)')
  return new Date(ms).toISOString()
}

function formatServices(r: ServicesReply): string {
  const rows: string[][] = []
  const notes: string[] = []
  for (const n of r.nodes) {
    const node = `${n.node}${n.self ? ' *' : ''}`
    if (n.error) {
      const unreachable = n.error.code === 'PRYV_NODE_UNREACHABLE'
      rows.push([node, '-', unreachable ? 'unreachable' : 'unknown', '-', '-', '-', '-'])
      notes.push(unreachable ? n.error.message : `${n.node}: ${n.error.code}: ${n.error.message}`)
    } else if (n.runtime === null) {
      rows.push([node, '-', 'not run', '-', '-', '-', '-'])
      notes.push(`${n.node} does not run services (started with --services none).`)
    } else if (n.services.length === 0) {
      rows.push([node, '-', 'none yet', '-', '-', '-', '-'])
    } else {
      for (const s of n.services) rows.push([node, s.name, s.state, s.health === 'none' ? '-' : s.health, s.uptimeMs === null ? '-' : formatUptime(s.uptimeMs), String(s.restartCount), s.exitCode === null ? '-' : String(s.exitCode)])
    }
  }
  return [
    table(['NODE', 'SERVICE', 'STATE', 'HEALTH', 'UPTIME', 'RESTARTS', 'EXIT'], rows),
    '',
    ...notes,
    '* this node; RESTARTS: after crashes, by the restart policy; EXIT: code of the last run'
  ].join('\n')
}

/** 42s, 5m 12s, 3h 4m, 2d 5h. */
export function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`
  return `${Math.floor(s / 86_400)}d ${Math.floor((s % 86_400) / 3600)}h`
}

/** "running and healthy, started <time>" */
function describeRow(s: ServiceRow): string {
  return `${s.state}${s.health === 'none' ? '' : ` and ${s.health}`}${s.state === 'running' && s.startedAt ? `, started ${s.startedAt}` : ''}`
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`
}

function formatRestart(r: RestartResult): string {
  const before = r.before.uptimeMs === null ? `it was ${r.before.state}` : `it had been up ${formatUptime(r.before.uptimeMs)}`
  return `Restarted ${r.service} on ${r.node} in ${formatMs(r.durationMs)}: ${describeRow(r.after)} (${before}).`
}

function formatStep(step: RestartStep): string {
  if (step.kind === 'plan') {
    const restart = step.nodes.filter((n) => n.action === 'restart').map((n) => n.node)
    const others = step.nodes.filter((n) => n.action !== 'restart').map((n) => `  ${n.node}: ${n.action === 'unreachable' ? 'unreachable' : 'skipped'} (${n.reason})`)
    return [`Restarting ${step.service} on ${restart.join(', ')}, one at a time (each healthy before the next):`, ...others].join('\n')
  }
  switch (step.outcome) {
    case 'restarted': return `  ${step.node}: restarted in ${formatMs(step.result.durationMs)}, ${describeRow(step.result.after)}`
    case 'not-attempted': return `  ${step.node}: not attempted (an earlier node failed)`
    default: return `  ${step.node}: ${step.outcome}: ${step.error.code}: ${step.error.message}`
  }
}

/** One closing line, and the exit code: a failure's own, else 5 when a member did not answer. */
function summarize(service: string, steps: readonly RestartStep[]): { text: string, exitCode: number } {
  const done = steps.filter((s) => s.kind === 'node')
  const plan = steps.find((s) => s.kind === 'plan')
  const restarted = done.filter((s) => s.outcome === 'restarted').length
  const attempted = plan?.nodes.filter((n) => n.action === 'restart').length ?? 0
  const failed = done.find((s) => s.outcome === 'failed')
  const unreachable = [...done.filter((s) => s.outcome === 'unreachable').map((s) => s.node), ...(plan?.nodes.filter((n) => n.action === 'unreachable').map((n) => n.node) ?? [])]
  const parts = [`${service} restarted on ${restarted} of ${attempted} node${attempted === 1 ? '' : 's'}`]
  if (failed && failed.outcome === 'failed') parts.push(`failed on ${failed.node}, the rollout stopped there`)
  if (unreachable.length > 0) parts.push(`not answering: ${unreachable.join(', ')}`)
  if (restarted < attempted && !failed && unreachable.length === 0) parts.push('interrupted')
  const exitCode = failed && failed.outcome === 'failed'
    ? (typeof failed.error.exitCode === 'number' ? failed.error.exitCode : ExitCode.conflict)
    : unreachable.length > 0 ? ExitCode.unreachable : restarted < attempted ? ExitCode.internal : ExitCode.ok
  return { text: `${parts.join('; ')}.`, exitCode }
}
