import type { TemplateProblem } from './errors.js'
import { effectiveSettings } from './layers.js'
import { type ServiceTemplates, tryRenderService } from './render.js'
import type { Schema } from './schema.js'

/**
 * Checks a release's templates against its schema when the release is loaded, before any node
 * renders them: syntax, paths, unknown settings, and settings a service uses without being listed
 * among their consumers (the schema's consumers are the docs' and the admin UI's "used by").
 */
export function checkReleaseTemplates(schema: Schema, templates: readonly ServiceTemplates[]): TemplateProblem[] {
  const { values, missing } = effectiveSettings(schema, {})
  const problems: TemplateProblem[] = []
  for (const { service, files } of templates) {
    for (const file of files) {
      const outcome = tryRenderService({ service, files: [file] }, values)
      // Required settings have no value in a release; that is for validateChange to catch per node.
      problems.push(...outcome.problems.filter((p) => !(p.code === 'PRYV_TEMPLATE_MISSING_VALUE' && missing.includes(p.key!))))
      for (const key of outcome.references) {
        if (schema.settings.get(key)!.def.consumers.includes(service)) continue
        problems.push({
          code: 'PRYV_TEMPLATE_UNDECLARED_CONSUMER',
          service,
          file: file.path,
          key,
          message: `${service}/${file.path}: uses '${key}', whose consumers do not include ${service}`
        })
      }
    }
  }
  return problems
}
