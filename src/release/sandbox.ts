import { types } from 'node:util'
import { createContext, Script } from 'node:vm'

/** A code step runs at most this long per layer. */
export const CODE_STEP_TIMEOUT_MS = 1000
const MAX_DEPTH = 64

/** Which layer a code step is called for: its second argument. */
export type CodeStepLayer = { readonly kind: 'platform' } | { readonly kind: 'machine'; readonly node: string }

/** A code step that threw, ran too long or returned something other than plain JSON data. */
export class CodeStepFailure extends Error {
  static override name = 'CodeStepFailure'
  override name = 'CodeStepFailure'
}

/** Compiles a code step's source as the body of `function (values, layer)`; throws its SyntaxError. */
export function compileCodeStep(source: string): Script {
  return new Script(`(function (values, layer) {\n'use strict';\n${source}\n})`, { filename: 'migration-code-step.js' })
}

/**
 * Runs a code step in a fresh V8 context: no require, process, timers or I/O, no eval, microtasks
 * drained within the time limit. The input is a deep copy (JSON); the output must be a plain object
 * of JSON data (no functions, getters, proxies, cycles, class instances or non-finite numbers) and
 * comes back as a copy made without running any of the step's code. Throws CodeStepFailure.
 */
export function runCodeStep(
  source: string,
  values: Readonly<Record<string, unknown>>,
  layer: CodeStepLayer,
  timeoutMs = CODE_STEP_TIMEOUT_MS
): Record<string, unknown> {
  const context = createContext(Object.create(null), { codeGeneration: { strings: false, wasm: false }, microtaskMode: 'afterEvaluate' })
  // Taken before the step runs: it may replace the global `Object`, but not this prototype.
  const objectPrototype: unknown = new Script('Object.getPrototypeOf({})').runInContext(context)
  const fn = compileCodeStep(source).runInContext(context) as object
  context.__fn = fn
  const call = new Script(`__fn(JSON.parse(${JSON.stringify(JSON.stringify(values))}), ${JSON.stringify(layer)})`)
  let result: unknown
  try {
    result = call.runInContext(context, { timeout: timeoutMs })
  } catch (err) {
    if ((err as { code?: unknown })?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new CodeStepFailure(`did not finish within ${timeoutMs} ms`)
    throw new CodeStepFailure(`threw ${describeThrown(err)}`)
  }
  if (!isOrdinaryObject(result, objectPrototype)) {
    throw new CodeStepFailure(`must return the values object (group.name → value), got ${kindOf(result)}`)
  }
  return copyPlain(result, 'the result', objectPrototype, new Set(), 0) as Record<string, unknown>
}

function copyPlain(value: unknown, path: string, objectPrototype: unknown, seen: Set<object>, depth: number): unknown {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value
    throw new CodeStepFailure(`returned ${value} at ${path}, which JSON cannot hold`)
  }
  if (typeof value !== 'object') throw new CodeStepFailure(`returned ${kindOf(value)} at ${path}: only JSON data may be returned`)
  if (types.isProxy(value)) throw new CodeStepFailure(`returned a proxy at ${path}: only JSON data may be returned`)
  if (seen.has(value)) throw new CodeStepFailure(`returned a cycle at ${path}: only JSON data may be returned`)
  if (depth > MAX_DEPTH) throw new CodeStepFailure(`returned data nested deeper than ${MAX_DEPTH} levels at ${path}`)
  const isArray = Array.isArray(value)
  if (!isArray && !isOrdinaryObject(value, objectPrototype)) throw new CodeStepFailure(`returned ${kindOf(value)} at ${path}: only JSON data may be returned`)
  seen.add(value)
  const copy: Record<string, unknown> | unknown[] = isArray ? [] : {}
  for (const key of Reflect.ownKeys(value)) {
    if (isArray && key === 'length') continue
    if (isArray && !(typeof key === 'string' && /^(?:0|[1-9]\d*)$/.test(key))) {
      throw new CodeStepFailure(`returned a list with an extra property ${String(key)} at ${path}: only JSON data may be returned`)
    }
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!
    const at = isArray ? `${path}[${String(key)}]` : `${path}.${String(key)}`
    if (typeof key === 'symbol' || !('value' in descriptor) || !descriptor.enumerable) {
      throw new CodeStepFailure(`returned a symbol, getter or hidden property at ${at}: only JSON data may be returned`)
    }
    ;(copy as Record<string, unknown>)[key] = copyPlain(descriptor.value, at, objectPrototype, seen, depth + 1)
  }
  if (isArray && (copy as unknown[]).length !== (value as unknown[]).length) throw new CodeStepFailure(`returned a list with holes at ${path}`)
  seen.delete(value)
  return copy
}

/** An object literal of the step's context (or of ours), or one made with Object.create(null). */
function isOrdinaryObject(value: unknown, objectPrototype: unknown): value is object {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || types.isProxy(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === null || proto === objectPrototype || proto === Object.prototype
}

function kindOf(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return types.isProxy(value) ? 'a proxy' : types.isPromise(value) ? 'a promise' : 'an object that is not plain data'
  if (typeof value === 'undefined') return 'undefined (a missing return?)'
  return `a ${typeof value}`
}

/** The thrown value's message, read without running any of the step's code (getters, proxies). */
function describeThrown(err: unknown): string {
  if (typeof err === 'string') return JSON.stringify(err)
  if (typeof err !== 'object' || err === null || types.isProxy(err)) return kindOf(err)
  const message = Object.getOwnPropertyDescriptor(err, 'message')
  return message && 'value' in message && typeof message.value === 'string' ? `"${message.value}"` : 'a value that is not an Error'
}
