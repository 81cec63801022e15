import { isMap, isScalar, LineCounter, type Node, parseDocument, type YAMLMap } from 'yaml'
import { checkAssignment } from './check.js'
import type { SettingProblem, SourceLocation } from './errors.js'
import type { LayerName } from './layers.js'
import type { ParsedLayer } from './local.js'
import type { Schema } from './schema.js'
import { unknownMessage } from './suggest.js'

/**
 * Parses a settings file (`init-platform --settings base.yml`, `config import`):
 *
 *     dns:
 *       defaultTtl: 300
 *     api.port: 3000      # dotted keys are accepted too
 *
 * Every problem (YAML syntax, unknown group or key, scope, type, constraint) is returned at once with
 * `file:line:col`. Values are only kept when the whole file is clean.
 */
export function parseSettingsYaml(
  schema: Schema,
  text: string,
  file: string,
  layer: Extract<LayerName, 'base' | 'platform' | 'machine'> = 'base'
): ParsedLayer {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false })
  const at = (node: Node | null | undefined): SourceLocation => {
    const { line, col } = lineCounter.linePos(node?.range?.[0] ?? 0)
    return { file, line, col }
  }
  const problems: SettingProblem[] = doc.errors.map((error) => {
    const pos = lineCounter.linePos(error.pos[0])
    return {
      code: 'PRYV_SETTINGS_FILE_SYNTAX',
      key: file,
      message: `invalid YAML: ${error.message}`,
      location: { file, line: pos.line, col: pos.col }
    }
  })
  if (problems.length > 0) return { values: {}, problems }
  if (doc.contents === null) return { values: {}, problems }
  if (!isMap(doc.contents)) {
    return { values: {}, problems: [expectedMap(file, 'the top level', at(doc.contents))] }
  }

  const values: Record<string, unknown> = {}
  const assign = (key: string, valueNode: Node | null, keyNode: Node): void => {
    const value = valueNode === null ? null : valueNode.toJS(doc)
    const found = checkAssignment(schema, layer, key, value)
    for (const p of found) {
      const node = p.code === 'PRYV_SETTING_UNKNOWN' || p.code === 'PRYV_SETTING_SCOPE' ? keyNode : (valueNode ?? keyNode)
      problems.push({ ...p, location: at(node) })
    }
    if (found.length === 0) values[key] = value
  }

  const groupNames = schema.groups.map((g) => g.name)
  for (const pair of (doc.contents as YAMLMap<Node, Node | null>).items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : ''
    if (name.includes('.')) {
      assign(name, pair.value, pair.key)
    } else if (!groupNames.includes(name)) {
      problems.push({
        code: 'PRYV_SETTING_UNKNOWN',
        key: name,
        message: unknownMessage('settings group', name, groupNames),
        location: at(pair.key)
      })
    } else if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) {
      // An empty group (`dns:` with nothing under it) sets nothing.
    } else if (!isMap(pair.value)) {
      problems.push(expectedMap(file, `'${name}'`, at(pair.value)))
    } else {
      for (const inner of (pair.value as YAMLMap<Node, Node | null>).items) {
        const key = `${name}.${isScalar(inner.key) ? String(inner.key.value) : ''}`
        assign(key, inner.value, inner.key)
      }
    }
  }
  return problems.length > 0 ? { values: {}, problems } : { values, problems }
}

function expectedMap(file: string, what: string, location: SourceLocation): SettingProblem {
  return {
    code: 'PRYV_SETTINGS_FILE_SYNTAX',
    key: file,
    message: `expected a map of settings at ${what} (e.g. "dns:" followed by indented "defaultTtl: 300")`,
    location
  }
}
