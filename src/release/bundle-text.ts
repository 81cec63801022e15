import { LineCounter, parseDocument } from 'yaml'
import type { FileProblems } from './problems.js'

const UTF8 = new TextDecoder('utf-8', { fatal: true })

/** The file's text, or undefined (and a problem) when it is not UTF-8. */
export function decodeText(content: Buffer, problems: FileProblems): string | undefined {
  try {
    return UTF8.decode(content)
  } catch {
    problems.add(undefined, 'is not UTF-8 text', 'bundles carry text files only: save it as UTF-8 (binary data belongs in the service image)')
    return undefined
  }
}

/** The YAML document's data, or undefined (and a problem with line and column) when it does not parse. */
export function parseYaml(text: string, problems: FileProblems): { readonly value: unknown } | undefined {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const { line, col } = lineCounter.linePos(error.pos[0])
      problems.add(undefined, `invalid YAML at line ${line}, column ${col}: ${error.message.split('\n')[0]}`, 'correct the YAML syntax (indentation, colons, quotes)')
    }
    return undefined
  }
  return { value: doc.toJS() }
}
