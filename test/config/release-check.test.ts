// biome-ignore-all lint/suspicious/noTemplateCurlyInString: strings are pryv templates.
import { describe, expect, it } from 'vitest'
import {
  checkReleaseTemplates,
  demoSchema,
  demoTemplates,
  effectiveSettings,
  renderServices,
  TemplateRenderError
} from '../../src/config/index.js'

describe('checkReleaseTemplates', () => {
  it('accepts the demo release', () => {
    expect(checkReleaseTemplates(demoSchema, demoTemplates)).toEqual([])
  })

  it('reports unknown settings and settings used by a service not among their consumers', () => {
    const problems = checkReleaseTemplates(demoSchema, [
      { service: 'demo-web', files: [{ path: 'conf/a.json', content: '{"s": "${api.sessionSecret}", "l": "${api.logLevl}"}' }] }
    ])
    expect(problems.map((p) => [p.code, p.message])).toEqual([
      ['PRYV_TEMPLATE_UNKNOWN_SETTING', "demo-web/conf/a.json: unknown setting 'api.logLevl' — did you mean 'api.logLevel'?"],
      ['PRYV_TEMPLATE_UNDECLARED_CONSUMER', "demo-web/conf/a.json: uses 'api.sessionSecret', whose consumers do not include demo-web"]
    ])
  })
})

describe('renderServices', () => {
  it('renders every service of a release for one node', () => {
    const eff = effectiveSettings(demoSchema, { platform: { 'api.sessionSecret': 's' } })
    expect(Object.keys(renderServices(demoTemplates, eff.values))).toEqual(['demo-api', 'demo-web'])
    expect(Object.keys(renderServices(demoTemplates, eff.values)['demo-web']!)).toEqual(['conf/web.yml', 'templates/index.html'])
  })

  it('throws one error with the problems of all services', () => {
    const eff = effectiveSettings(demoSchema, {})
    let caught: TemplateRenderError | undefined
    try {
      renderServices(demoTemplates, eff.values)
    } catch (error) {
      caught = error as TemplateRenderError
    }
    expect(caught).toBeInstanceOf(TemplateRenderError)
    expect(caught?.code).toBe('PRYV_TEMPLATE_RENDER_FAILED')
    expect(caught?.problems.map((p) => p.message)).toEqual(["demo-api/conf/api.json: setting 'api.sessionSecret' has no value"])
  })
})

describe('the settings module', () => {
  it('never logs: no console, logger or process output in src/config', async () => {
    const { readdir, readFile } = await import('node:fs/promises')
    const root = new URL('../../src/config/', import.meta.url)
    const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts'))
    expect(files.length).toBeGreaterThan(10)
    for (const file of files) {
      const text = await readFile(new URL(file, root), 'utf8')
      expect(text, file).not.toMatch(/\bconsole\.|from 'pino'|process\.(stdout|stderr|env|argv)/)
    }
  })
})
