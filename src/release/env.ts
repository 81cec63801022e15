import type { TemplateProblem } from '../config/errors.js'
import type { SettingsValues } from '../config/layers.js'
import { type ServiceTemplates, tryRenderService } from '../config/render.js'
import type { ReleaseService } from './types.js'

/**
 * A service's environment values render like text templates (`${group.name}`, `$${` for a literal):
 * each value is a one-line template at `conf/env/<NAME>`, so the rules and checks are the templates'.
 */
const ENV_PREFIX = 'conf/env/'

export function envTemplates(service: ReleaseService): ServiceTemplates {
  return { service: service.name, files: Object.entries(service.env ?? {}).map(([name, value]) => ({ path: `${ENV_PREFIX}${name}`, content: value })) }
}

/** The variable a problem of `envTemplates` is about. */
export function envVariableOf(problem: TemplateProblem): string {
  return problem.file.slice(ENV_PREFIX.length)
}

/** `core env PORT: …` instead of the synthetic template path. */
export function envProblemMessage(problem: TemplateProblem): string {
  return problem.message.replace(`${problem.service}/${problem.file}: `, '')
}

export function renderEnv(service: ReleaseService, values: SettingsValues): { readonly env: Record<string, string>; readonly problems: readonly TemplateProblem[] } {
  const outcome = tryRenderService(envTemplates(service), values)
  const env = Object.fromEntries(Object.entries(outcome.files).map(([path, value]) => [path.slice(ENV_PREFIX.length), value]))
  const problems = outcome.problems.map((p) => ({ ...p, file: `env ${envVariableOf(p)}`, message: `${p.service} env ${envVariableOf(p)}: ${envProblemMessage(p)}` }))
  return { env, problems }
}
