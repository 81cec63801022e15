// Module resolution hook of module-trace.mjs (runs in the loader's thread).
import { appendFileSync } from 'node:fs'

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context)
  if (process.env.PRYV_TEST_MODULE_TRACE) appendFileSync(process.env.PRYV_TEST_MODULE_TRACE, `${resolved.url}\n`)
  return resolved
}
