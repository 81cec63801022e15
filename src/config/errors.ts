import { ExitCode, OperatorError } from '../errors.js'

/** Where a problem was found in a settings or template file (1-based). */
export interface SourceLocation {
  readonly file: string
  readonly line: number
  readonly col: number
}

export type ProblemCode =
  | 'PRYV_SETTING_UNKNOWN'
  | 'PRYV_SETTING_INVALID_TYPE'
  | 'PRYV_SETTING_CONSTRAINT'
  | 'PRYV_SETTING_SCOPE'
  | 'PRYV_SETTING_REQUIRED'
  | 'PRYV_SETTING_CONFLICT'
  | 'PRYV_SETTING_BREAKS_RENDER'
  | 'PRYV_SETTINGS_FILE_SYNTAX'

/** One operator-facing problem with a setting; validators return all of them at once. */
export interface SettingProblem {
  readonly code: ProblemCode
  /** Full setting path (`group.key`), or the group / file entry the problem is about. */
  readonly key: string
  readonly message: string
  readonly hint?: string
  readonly location?: SourceLocation
}

/** `file:line:col: message`, the form operators and editors both understand. */
export function formatProblem(problem: SettingProblem): string {
  const where = problem.location
    ? `${problem.location.file}:${problem.location.line}:${problem.location.col}: `
    : ''
  return `${where}${problem.message}`
}

/** The schema itself is malformed: a bug in a release, not an operator mistake. */
export class SchemaDefinitionError extends OperatorError {
  readonly problems: readonly string[]

  constructor(schemaName: string, problems: readonly string[]) {
    super('PRYV_SCHEMA_INVALID', `settings schema '${schemaName}' is invalid:\n  ${problems.join('\n  ')}`, {
      exitCode: ExitCode.internal,
      details: { problems }
    })
    this.name = 'SchemaDefinitionError'
    this.problems = problems
  }
}

/** Thrown form of a list of setting problems, for callers that prefer exceptions. */
export class SettingsInvalidError extends OperatorError {
  readonly problems: readonly SettingProblem[]

  constructor(problems: readonly SettingProblem[]) {
    const noun = problems.length === 1 ? 'problem' : 'problems'
    super('PRYV_SETTINGS_INVALID', `${problems.length} settings ${noun}:\n  ${problems.map(formatProblem).join('\n  ')}`, {
      hint: problems.find((p) => p.hint !== undefined)?.hint,
      details: { problems }
    })
    this.name = 'SettingsInvalidError'
    this.problems = problems
  }
}

export type TemplateProblemCode =
  | 'PRYV_TEMPLATE_UNKNOWN_SETTING'
  | 'PRYV_TEMPLATE_MISSING_VALUE'
  | 'PRYV_TEMPLATE_SYNTAX'
  | 'PRYV_TEMPLATE_PATH'
  | 'PRYV_TEMPLATE_UNDECLARED_CONSUMER'

export interface TemplateProblem {
  readonly code: TemplateProblemCode
  readonly service: string
  /** Template path relative to the service directory, e.g. `conf/api.json`. */
  readonly file: string
  readonly key?: string
  readonly message: string
}

export class TemplateRenderError extends OperatorError {
  readonly problems: readonly TemplateProblem[]

  constructor(problems: readonly TemplateProblem[]) {
    super('PRYV_TEMPLATE_RENDER_FAILED', `cannot render configuration:\n  ${problems.map((p) => p.message).join('\n  ')}`, {
      hint: 'check the settings named above with `pryv-node config get KEY --explain`',
      details: { problems }
    })
    this.name = 'TemplateRenderError'
    this.problems = problems
  }
}

export type ConfigWriteCode = 'PRYV_CONFIG_WRITE_FAILED' | 'PRYV_CONFIG_PATH_REFUSED' | 'PRYV_CONFIG_MANIFEST_INVALID'

/** Writing rendered files failed; the environment (disk, permissions, a symlink) is at fault. */
export class ConfigWriteError extends OperatorError {
  declare readonly code: ConfigWriteCode

  constructor(code: ConfigWriteCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(code, message, { ...options, exitCode: ExitCode.environment })
    this.name = 'ConfigWriteError'
  }
}
