import { unknownMessage } from '../config/suggest.js'
import type { ReleaseProblem } from './errors.js'

/** Collects the problems of one bundle file; `field` paths use dots and `[i]` (`services.core.ports[0].host`). */
export class FileProblems {
  #count = 0

  constructor(
    readonly file: string,
    private readonly sink: ReleaseProblem[]
  ) {}

  /** Problems added through this collector so far. */
  get count(): number {
    return this.#count
  }

  add(field: string | undefined, message: string, fix: string): void {
    this.#count++
    this.sink.push({ file: this.file, ...(field === undefined || field === '' ? {} : { field }), message, fix })
  }

  /** Reports every key of `value` not in `allowed`, with a did-you-mean. */
  unknownKeys(value: Record<string, unknown>, allowed: readonly string[], field: string, what: string): void {
    for (const key of Object.keys(value)) {
      if (allowed.includes(key)) continue
      this.add(join(field, key), unknownMessage(what, key, allowed), `remove it or use one of: ${allowed.join(', ')}`)
    }
  }
}

export function join(field: string, key: string): string {
  return field === '' ? key : `${field}.${key}`
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string')
}

/** A JSON-ish description of a value for messages. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}
