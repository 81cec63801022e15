import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { SettingDiff } from '../../config/diff.js'
import type { Explanation } from '../../config/layers.js'
import type { Schema, SchemaDef } from '../../config/schema.js'
import { ExitCode, OperatorError } from '../../errors.js'
import type { NodePlan, NodeReports } from '../../node/settings-service.js'
import type { CliContext } from '../context.js'
import { table } from '../format.js'

interface ValuesReply {
  revision: number
  layer: 'platform' | 'machine' | 'effective'
  node?: string
  local?: boolean
  values: Record<string, unknown>
  sources?: Record<string, string>
  missing?: string[]
}
interface ExplainReply { revision: number, node: string, local: boolean, explanation: Explanation }
interface ChangeReply { target: string, revision: number, diff: SettingDiff[], nodes: NodePlan[], unchanged?: boolean, dryRun?: boolean }
interface HistoryRecord { revision: number, at: string, author: string, actor?: string, target: string, message: string, diff: SettingDiff[] }
interface HistoryReply {
  revision: number
  node: string
  records: HistoryRecord[]
  nodes: NodeReports[]
}
interface DiffReply { target: string, from: number, to: number, diff: SettingDiff[] }

const show = (v: unknown): string => (v === undefined ? '(unset)' : JSON.stringify(v))

/** `pryv-node config …`: the platform's settings, through the local node. Writes go through the writer. */
export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description('Platform settings: read, change, import/export, history and rollback.')
  const out = (o: { json?: boolean }, value: unknown, text: () => string): void => ctx.io.out(o.json ? JSON.stringify(value, null, 2) : text())

  config.command('get')
    .description('Show the platform values (or a node\'s overrides with --machine), a node\'s effective settings, or how one key is decided.')
    .argument('[key]', 'one setting, group.name')
    .option('--machine <node>', 'a node (name or peer id): its overrides, or with --effective/--explain its settings')
    .option('--effective', 'the settings the node runs with, after every layer')
    .option('--explain', 'every layer\'s value for KEY and which one wins')
    .option('--reveal', 'show secrets in clear')
    .option('--consistent', 'read through the writer set: sees every change acknowledged before it (slower)')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  pryv-node config get\n  pryv-node config get api.port --explain\n  pryv-node config get --effective --machine core2\n  pryv-node config get platform.name --consistent')
    .action(async (key: string | undefined, o) => {
      const reply = await ctx.control('settings.get', { key, machine: o.machine, effective: o.effective === true, explain: o.explain === true, reveal: o.reveal === true, consistent: o.consistent === true })
      if (o.explain) {
        const r = reply as ExplainReply
        out(o, r, () => formatExplanation(r))
        return
      }
      const r = reply as ValuesReply
      out(o, r, () => formatValues(r))
    })

  const writeOptions = (cmd: Command): Command => cmd
    .option('--machine <node>', 'change one node\'s overrides instead of the platform values')
    .option('-m, --message <text>', 'why (kept in the history)')
    .option('--dry-run', 'only print which files each node would rewrite and which services it would restart')
    .option('--json', 'print JSON')

  writeOptions(config.command('set')
    .description('Set platform values (or one node\'s overrides); validated on every node before it is committed.')
    .argument('<key=value...>', 'assignments; lists and maps as JSON'))
    .addHelpText('after', '\nExamples:\n  pryv-node config set platform.name="Hospital demo" -m "rename"\n  pryv-node config set --machine core2 api.logLevel=debug --dry-run')
    .action(async (pairs: string[], o) => {
      const set: Record<string, string> = {}
      for (const pair of pairs) {
        const eq = pair.indexOf('=')
        if (eq <= 0) throw new OperatorError('PRYV_USAGE', `"${pair}" is not KEY=VALUE.`, { hint: 'Write e.g. `pryv-node config set api.port=8080`.', exitCode: ExitCode.usage })
        set[pair.slice(0, eq).trim()] = pair.slice(eq + 1)
      }
      await change(o, { set, input: 'text' })
    })

  writeOptions(config.command('unset')
    .description('Remove platform values (or one node\'s overrides): the next layer down applies again.')
    .argument('<key...>', 'settings, group.name'))
    .action(async (keys: string[], o) => change(o, { unset: keys }))

  writeOptions(config.command('import')
    .description('Set every value of a YAML settings file (keys not in the file are left as they are).')
    .argument('<file>', 'YAML: groups of keys, or dotted keys'))
    .action(async (file: string, o) => {
      let text: string
      try {
        text = await readFile(file, 'utf8')
      } catch (err) {
        throw new OperatorError('PRYV_SETTINGS_FILE_UNREADABLE', `Cannot read ${file}: ${(err as Error).message}.`, { exitCode: ExitCode.invalidInput })
      }
      const [schema, { parseSettingsYaml }, { SettingsInvalidError }, { isSecret, SECRET_MASK }] = await Promise.all([
        platformSchema(), import('../../config/yaml-file.js'), import('../../config/errors.js'), import('../../config/mask.js')
      ])
      const parsed = parseSettingsYaml(schema, text, file, o.machine === undefined ? 'platform' : 'machine')
      if (parsed.problems.length > 0) throw new SettingsInvalidError(parsed.problems)
      // A masked secret (from `config export` without --reveal) means "keep the current value".
      const set = Object.fromEntries(Object.entries(parsed.values).filter(([k, v]) => !(isSecret(schema, k) && v === SECRET_MASK)))
      await change(o, { set })
    })

  config.command('export')
    .description('Print the platform values (or a node\'s overrides, or its effective settings) as YAML; secrets masked.')
    .option('--machine <node>', 'a node\'s overrides (or with --effective, its settings)')
    .option('--effective', 'every setting the node runs with')
    .option('--reveal', 'include secrets in clear')
    .action(async (o) => {
      const r = await ctx.control('settings.get', { machine: o.machine, effective: o.effective === true, reveal: o.reveal === true }) as ValuesReply
      const grouped: Record<string, Record<string, unknown>> = {}
      for (const [key, value] of Object.entries(r.values)) {
        if (value === undefined) continue
        const dot = key.indexOf('.')
        const group = key.slice(0, dot)
        grouped[group] ??= {}
        grouped[group][key.slice(dot + 1)] = value
      }
      const { stringify } = await import('yaml')
      const what = r.layer === 'platform' ? 'platform values' : r.layer === 'machine' ? `overrides of ${r.node}` : `effective settings of ${r.node}`
      ctx.io.out(`# ${what} at revision ${r.revision}\n${Object.keys(grouped).length > 0 ? stringify(grouped).trimEnd() : '{}'}`)
    })

  config.command('diff')
    .description('What changed in the platform values (or a node\'s overrides) between two revisions; default: the last change.')
    .argument('[from]', 'revision', parseRevision)
    .argument('[to]', 'revision (default: now)', parseRevision)
    .option('--machine <node>', 'a node\'s overrides')
    .option('--json', 'print JSON')
    .action(async (from: number | undefined, to: number | undefined, o) => {
      const r = await ctx.control('settings.diff', { from, to, machine: o.machine }) as DiffReply
      out(o, r, () => `${r.target}: revision ${r.from} → ${r.to}\n${formatDiff(r.diff)}`)
    })

  config.command('history')
    .description('Every settings change: revision, time, author node, target, message and what changed (secrets masked).')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const r = await ctx.control('settings.history') as HistoryReply
      out(o, r, () => formatHistory(r))
    })

  writeOptions(config.command('rollback')
    .description('A new change that brings the platform values (or a node\'s overrides) back to what they were at REV.')
    .argument('<rev>', 'revision (from config history)', parseRevision))
    .action(async (revision: number, o) => {
      const r = await ctx.control('settings.rollback', { revision, machine: o.machine, message: o.message, dryRun: o.dryRun === true }) as ChangeReply
      out(o, r, () => formatChange(r))
    })

  config.command('schema').alias('describe')
    .description('Every setting of the platform\'s release (or of a release bundle): type, default, scope, environment variable and consuming services.')
    .option('--release <bundle>', 'describe this release bundle\'s settings instead (no running node needed)')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const { describeSchema, describeSchemaJson } = await import('../../config/describe.js')
      const schema = o.release === undefined ? await platformSchema() : await releaseSchema(o.release)
      ctx.io.out(o.json ? JSON.stringify(describeSchemaJson(schema), null, 2) : describeSchema(schema))
    })

  /** The settings schema of the release the local node's platform runs. */
  async function platformSchema(): Promise<Schema> {
    const { defineSchema } = await import('../../config/schema.js')
    return defineSchema(await ctx.control('settings.schema') as SchemaDef)
  }

  /** The settings schema of a release bundle. */
  async function releaseSchema(bundle: string): Promise<Schema> {
    const [{ loadRelease }, { platformRelease }] = await Promise.all([import('../../release/load.js'), import('../../release/platform.js')])
    return platformRelease((await loadRelease(bundle)).record).schema
  }

  async function change(o: { machine?: string, message?: string, dryRun?: boolean, json?: boolean }, body: Record<string, unknown>): Promise<void> {
    const r = await ctx.control('settings.change', { ...body, machine: o.machine, message: o.message, dryRun: o.dryRun === true }) as ChangeReply
    out(o, r, () => formatChange(r))
  }
}

function parseRevision(text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0) throw new OperatorError('PRYV_USAGE', `"${text}" is not a revision number.`, { exitCode: ExitCode.usage })
  return n
}

function formatValues(r: ValuesReply): string {
  const title = r.layer === 'platform'
    ? `platform values at revision ${r.revision}`
    : r.layer === 'machine' ? `overrides of ${r.node} at revision ${r.revision}` : `effective settings of ${r.node} at revision ${r.revision}${r.local ? '' : ' (replicated layers only: its environment and --set are local to it)'}`
  const entries = Object.entries(r.values)
  if (entries.length === 0) return `${title}: none`
  const rows = entries.map(([k, v]) => (r.sources ? [k, show(v), r.sources[k] ?? ''] : [k, show(v)]))
  return `${title}\n${table(r.sources ? ['KEY', 'VALUE', 'FROM'] : ['KEY', 'VALUE'], rows)}`
}

function formatExplanation(r: ExplainReply): string {
  const e = r.explanation
  const rows = e.layers.map((l) => [
    l.layer + (l.layer === e.winner ? ' *' : ''),
    l.set ? show(l.value) : '-',
    l.set && !l.allowed ? 'ignored: not allowed in this layer' : ''
  ])
  return [
    `${e.key} = ${show(e.value)} on ${r.node} (from ${e.winner})${r.local ? '' : '; env and --set of that node are not known here'}`,
    table(['LAYER', 'VALUE', ''], rows),
    '* wins'
  ].join('\n')
}

function formatDiff(diff: readonly SettingDiff[]): string {
  if (diff.length === 0) return '  (no change)'
  return diff.map((d) => `  ${d.key}: ${show(d.from)} → ${show(d.to)}`).join('\n')
}

function formatPlans(nodes: readonly NodePlan[]): string {
  return nodes.map((n) => {
    const what = n.files.length === 0 ? 'no file changes' : `${n.files.join(', ')}; restart ${n.restart.join(', ')}`
    return `  ${n.node}: ${what}${n.problems.length > 0 ? ` (problems: ${n.problems.join('; ')})` : ''}`
  }).join('\n')
}

function formatChange(r: ChangeReply): string {
  if (r.unchanged) return `Nothing to change: ${r.target} already has these values (revision ${r.revision}).`
  const head = r.dryRun ? `Dry run on ${r.target} (nothing committed):` : `Revision ${r.revision}: ${r.target} changed:`
  return `${head}\n${formatDiff(r.diff)}\nper node:\n${formatPlans(r.nodes)}`
}

/** What a node did for one revision: restarted services, failures, pending, rendered with a later one, or unknown (`-`: not in its recent reports). */
export function renderCell(n: NodeReports, revision: number): string {
  if (n.reports === undefined) return '?'
  const report = n.reports.findLast((x) => x.settingsRevision === revision)
  if (report === undefined) {
    // Reports are in revision order: the first one after this revision rendered it too, unless the one before it is older than the oldest kept.
    const next = n.reports.findIndex((x) => x.settingsRevision > revision)
    if (next === -1) return 'pending'
    return next > 0 ? `with ${n.reports[next]!.settingsRevision}` : '-'
  }
  if (report.failures.length > 0) return `${report.failures.length} failed`
  const parts = report.services === 'process'
    ? [['restarted', report.restarted], ['started', report.started]] as const
    : [['restart', report.restart]] as const
  const text = parts.filter(([, list]) => list.length > 0).map(([verb, list]) => `${verb} ${list.join(',')}`).join('; ')
  return text === '' ? 'unchanged' : text
}

function formatHistory(r: HistoryReply): string {
  if (r.records.length === 0) return 'No settings changes yet.'
  const rows = r.records.map((h) => [
    String(h.revision), h.at, h.actor && h.actor !== 'local' ? `${h.actor}@${h.author}` : h.author, h.target, h.message, h.diff.map((d) => d.key).join(', '),
    ...r.nodes.map((n) => renderCell(n, h.revision))
  ])
  const unreachable = r.nodes.filter((n) => n.error !== undefined).map((n) => `${n.node}: ${n.error}`)
  return [
    table(['REV', 'TIME', 'AUTHOR', 'TARGET', 'MESSAGE', 'CHANGED', ...r.nodes.map((n) => n.node.toUpperCase())], rows),
    ...(unreachable.length > 0 ? ['', `not answering (?): ${unreachable.join('; ')}`] : []),
    '',
    'per node: services restarted (or to restart, when services are not run) for that revision; with N = rendered together with revision N; - = not in its recent reports'
  ].join('\n')
}
