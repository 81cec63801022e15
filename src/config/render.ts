import { LineCounter, parseDocument, stringify } from 'yaml'
import { type TemplateProblem, TemplateRenderError } from './errors.js'
import type { SettingsValues } from './layers.js'
import { isRenderablePath } from './paths.js'
import { unknownMessage } from './suggest.js'
import { isPlainObject } from './values.js'

/**
 * One template of a service, as shipped in a release. The format follows the extension:
 * - `.json`, `.yml`, `.yaml`: parsed, then a value that is exactly `{ "$setting": "group.name" }` or
 *   exactly the string `"${group.name}"` is replaced by the typed setting value (a number stays a
 *   number, a list stays a list); `${group.name}` inside a longer string is interpolated. Object keys
 *   are never substituted. The output is re-serialised (JSON with 2-space indent; YAML comments drop).
 * - anything else: text, only `${group.name}` interpolation.
 * Interpolated non-strings are written as JSON (`8080`, `["a","b"]`, `null`); setting values are never
 * themselves expanded. A reference may go into an object setting: `${mail.smtp.host}`. `$${` writes a literal `${`;
 * `${NAME}` without a dot is not a reference (shell and nginx variables pass through).
 */
export interface TemplateFile {
  /** Relative to the service directory, under `conf/` or `templates/`. */
  readonly path: string
  readonly content: string
}

export interface ServiceTemplates {
  readonly service: string
  readonly files: readonly TemplateFile[]
}

/** Relative path -> rendered content. */
export type RenderedFiles = Readonly<Record<string, string>>

export interface RenderOutcome {
  readonly files: RenderedFiles
  readonly problems: readonly TemplateProblem[]
  /** Setting keys the templates refer to (first two path segments), sorted. */
  readonly references: readonly string[]
}

const KEY_PATH = String.raw`[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*)+`
const WHOLE = new RegExp(String.raw`^\$\{\s*(${KEY_PATH})\s*\}$`)
const INLINE = new RegExp(String.raw`\$\$\{|\$\{\s*(${KEY_PATH})\s*\}`, 'g')
const REFERENCE = new RegExp(`^${KEY_PATH}$`)
const SETTING_MARK = '$setting'

/** Renders every template of one service with the node's effective values; throws TemplateRenderError. */
export function renderService(templates: ServiceTemplates, values: SettingsValues): RenderedFiles {
  const outcome = tryRenderService(templates, values)
  if (outcome.problems.length > 0) throw new TemplateRenderError(outcome.problems)
  return outcome.files
}

/** Renders every service of a release for one node: service -> files. Throws with the problems of all services. */
export function renderServices(
  templates: readonly ServiceTemplates[],
  values: SettingsValues
): Readonly<Record<string, RenderedFiles>> {
  const outcomes = templates.map((t) => [t.service, tryRenderService(t, values)] as const)
  const problems = outcomes.flatMap(([, outcome]) => outcome.problems)
  if (problems.length > 0) throw new TemplateRenderError(problems)
  return Object.fromEntries(outcomes.map(([service, outcome]) => [service, outcome.files]))
}

/** Like renderService, but returns every problem instead of throwing. */
export function tryRenderService(templates: ServiceTemplates, values: SettingsValues): RenderOutcome {
  const files: Record<string, string> = {}
  const problems: TemplateProblem[] = []
  const references = new Set<string>()
  const seen = new Set<string>()
  for (const file of templates.files) {
    const ctx: Context = { service: templates.service, file: file.path, values, problems, references }
    if (!isRenderablePath(file.path)) {
      report(ctx, 'PRYV_TEMPLATE_PATH', `template path must be relative and under conf/ or templates/`)
      continue
    }
    if (seen.has(file.path)) {
      report(ctx, 'PRYV_TEMPLATE_PATH', 'the service has two templates with this path')
      continue
    }
    seen.add(file.path)
    const before = problems.length
    const content = renderFile(file, ctx)
    if (content !== undefined && problems.length === before) files[file.path] = content
  }
  return { files, problems, references: [...references].sort() }
}

interface Context {
  readonly service: string
  readonly file: string
  readonly values: SettingsValues
  readonly problems: TemplateProblem[]
  readonly references: Set<string>
}

function report(ctx: Context, code: TemplateProblem['code'], message: string, key?: string): void {
  ctx.problems.push({ code, service: ctx.service, file: ctx.file, key, message: `${ctx.service}/${ctx.file}: ${message}` })
}

function renderFile(file: TemplateFile, ctx: Context): string | undefined {
  const format = /\.json$/i.test(file.path) ? 'json' : /\.ya?ml$/i.test(file.path) ? 'yaml' : 'text'
  if (format === 'text') return interpolate(file.content, ctx)
  let tree: unknown
  if (format === 'json') {
    try {
      tree = JSON.parse(file.content)
    } catch (error) {
      report(ctx, 'PRYV_TEMPLATE_SYNTAX', `invalid JSON template: ${(error as Error).message}`)
      return undefined
    }
  } else {
    const lineCounter = new LineCounter()
    const doc = parseDocument(file.content, { lineCounter, prettyErrors: false })
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!
      const pos = lineCounter.linePos(e.pos[0])
      report(ctx, 'PRYV_TEMPLATE_SYNTAX', `invalid YAML template at ${pos.line}:${pos.col}: ${e.message}`)
      return undefined
    }
    tree = doc.toJS()
  }
  const rendered = substitute(tree, ctx)
  return format === 'json' ? `${JSON.stringify(rendered, null, 2)}\n` : stringify(rendered)
}

function substitute(node: unknown, ctx: Context): unknown {
  if (typeof node === 'string') {
    const whole = WHOLE.exec(node)
    return whole ? lookup(whole[1]!, ctx) : interpolate(node, ctx)
  }
  if (Array.isArray(node)) return node.map((item) => substitute(item, ctx))
  if (!isPlainObject(node)) return node
  if (SETTING_MARK in node) {
    const ref = node[SETTING_MARK]
    if (Object.keys(node).length === 1 && typeof ref === 'string' && REFERENCE.test(ref)) {
      return lookup(ref, ctx)
    }
    report(ctx, 'PRYV_TEMPLATE_SYNTAX', `'${SETTING_MARK}' must be the only key of its object and name a setting like "group.name"`)
    return null
  }
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, substitute(v, ctx)]))
}

function interpolate(text: string, ctx: Context): string {
  return text.replace(INLINE, (match, path: string | undefined) => {
    if (path === undefined) return match.slice(1)
    const value = lookup(path, ctx)
    return typeof value === 'string' ? value : JSON.stringify(value ?? null)
  })
}

function lookup(path: string, ctx: Context): unknown {
  const [group, name, ...fields] = path.split('.')
  const key = `${group}.${name}`
  if (!Object.hasOwn(ctx.values, key)) {
    report(ctx, 'PRYV_TEMPLATE_UNKNOWN_SETTING', unknownMessage('setting', key, Object.keys(ctx.values)), key)
    return null
  }
  ctx.references.add(key)
  let value: unknown = ctx.values[key]
  for (const field of fields) value = isPlainObject(value) ? value[field] : undefined
  if (value === undefined) {
    report(ctx, 'PRYV_TEMPLATE_MISSING_VALUE', `setting '${path}' has no value`, key)
    return null
  }
  return value
}
