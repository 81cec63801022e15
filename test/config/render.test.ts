// biome-ignore-all lint/suspicious/noTemplateCurlyInString: strings are pryv templates.
import { parse } from 'yaml'
import { describe, expect, it } from 'vitest'
import {
  demoApiTemplates,
  demoSchema,
  demoWebTemplates,
  effectiveSettings,
  renderService,
  type ServiceTemplates,
  TemplateRenderError,
  tryRenderService
} from '../../src/config/index.js'

const values = {
  'api.port': 8080,
  'api.debug': false,
  'api.origins': ['https://a.io', 'https://b.io'],
  'mail.smtp': { host: 'smtp.io', port: 25 },
  'platform.domain': 'pryv.me',
  'platform.nothing': undefined
}

const one = (path: string, content: string): ServiceTemplates => ({ service: 'svc', files: [{ path, content }] })

describe('renderService', () => {
  it('keeps types for whole-value references in JSON, both forms', () => {
    const files = renderService(
      one('conf/a.json', '{"port": "${api.port}", "p2": {"$setting": "api.port"}, "debug": "${ api.debug }", "origins": "${api.origins}", "smtp": {"$setting": "mail.smtp"}, "host": "${mail.smtp.host}", "keep": 3}'),
      values
    )
    expect(JSON.parse(files['conf/a.json']!)).toEqual({
      port: 8080,
      p2: 8080,
      debug: false,
      origins: ['https://a.io', 'https://b.io'],
      smtp: { host: 'smtp.io', port: 25 },
      host: 'smtp.io',
      keep: 3
    })
    expect(files['conf/a.json']!.endsWith('}\n')).toBe(true)
  })

  it('keeps types in YAML and interpolates inside longer strings', () => {
    const files = renderService(
      one('conf/a.yml', 'port: ${api.port}\nurl: "https://api.${platform.domain}:${api.port}/"\nlist: "${api.origins}"\n'),
      values
    )
    expect(parse(files['conf/a.yml']!)).toEqual({ port: 8080, url: 'https://api.pryv.me:8080/', list: ['https://a.io', 'https://b.io'] })
  })

  it('only interpolates in text files, never touches object keys, and honours $${ and non-setting ${VARS}', () => {
    const files = renderService(
      {
        service: 'svc',
        files: [
          { path: 'templates/run.sh', content: 'echo ${HOME} $${api.port} ${api.port} ${api.origins}\n' },
          { path: 'conf/k.json', content: '{"${api.port}": "x"}' }
        ]
      },
      values
    )
    expect(files['templates/run.sh']).toBe('echo ${HOME} ${api.port} 8080 ["https://a.io","https://b.io"]\n')
    expect(JSON.parse(files['conf/k.json']!)).toEqual({ '${api.port}': 'x' })
  })

  it('does not substitute inside a setting value (no recursive expansion)', () => {
    const files = renderService(one('conf/a.txt', '${platform.domain}'), { ...values, 'platform.domain': '${api.port}' })
    expect(files['conf/a.txt']).toBe('${api.port}')
  })

  it('reports every problem with service, file and key, and renders nothing for a broken file', () => {
    const outcome = tryRenderService(
      {
        service: 'svc',
        files: [
          { path: 'conf/a.json', content: '{"a": "${api.prot}", "b": "${platform.nothing}", "c": {"$setting": "api.port", "x": 1}}' },
          { path: 'conf/b.json', content: '{"a": ' },
          { path: 'conf/c.yml', content: 'a: [1\n' },
          { path: '../data/x.json', content: '{}' },
          { path: 'conf/ok.txt', content: 'fine ${api.port}' },
          { path: 'conf/ok.txt', content: 'again' }
        ]
      },
      values
    )
    expect(outcome.files).toEqual({ 'conf/ok.txt': 'fine 8080' })
    expect(outcome.problems.map((p) => [p.code, p.file, p.key, p.message])).toEqual([
      ['PRYV_TEMPLATE_UNKNOWN_SETTING', 'conf/a.json', 'api.prot', "svc/conf/a.json: unknown setting 'api.prot' — did you mean 'api.port'?"],
      ['PRYV_TEMPLATE_MISSING_VALUE', 'conf/a.json', 'platform.nothing', "svc/conf/a.json: setting 'platform.nothing' has no value"],
      ['PRYV_TEMPLATE_SYNTAX', 'conf/a.json', undefined, 'svc/conf/a.json: \'$setting\' must be the only key of its object and name a setting like "group.name"'],
      ['PRYV_TEMPLATE_SYNTAX', 'conf/b.json', undefined, expect.stringMatching(/^svc\/conf\/b\.json: invalid JSON template: /)],
      ['PRYV_TEMPLATE_SYNTAX', 'conf/c.yml', undefined, expect.stringMatching(/^svc\/conf\/c\.yml: invalid YAML template at 2:1: /)],
      ['PRYV_TEMPLATE_PATH', '../data/x.json', undefined, 'svc/../data/x.json: template path must be relative and under conf/ or templates/'],
      ['PRYV_TEMPLATE_PATH', 'conf/ok.txt', undefined, 'svc/conf/ok.txt: the service has two templates with this path']
    ])
    expect(outcome.references).toEqual(['api.port', 'platform.nothing'])
    expect(() => renderService({ service: 'svc', files: [{ path: 'conf/b.json', content: '{' }] }, values)).toThrow(TemplateRenderError)
  })
})

describe('demo templates', () => {
  it('render with the demo schema for a node, using its machine override', () => {
    const eff = effectiveSettings(demoSchema, {
      platform: { 'api.sessionSecret': 'sek', 'platform.domain': 'demo.io' },
      machine: { 'machine.listenIp': '10.0.0.7', 'api.port': 4000 }
    })
    const api = JSON.parse(renderService(demoApiTemplates, eff.values)['conf/api.json']!)
    expect(api).toEqual({
      server: { host: '10.0.0.7', port: 4000 },
      publicUrl: 'https://api.demo.io',
      logLevel: 'info',
      cors: { origins: [] },
      session: { secret: 'sek' }
    })
    const web = renderService(demoWebTemplates, eff.values)
    expect(parse(web['conf/web.yml']!)).toEqual({
      title: 'Demo platform',
      apiUrl: 'https://api.demo.io:4000',
      listen: { host: '10.0.0.7', port: 8080 }
    })
    expect(web['templates/index.html']).toContain('<title>Demo platform</title>')
  })

  it('reference only settings that list their service as a consumer', () => {
    for (const templates of [demoApiTemplates, demoWebTemplates]) {
      const eff = effectiveSettings(demoSchema, { platform: { 'api.sessionSecret': 's' } })
      const { references, problems } = tryRenderService(templates, eff.values)
      expect(problems).toEqual([])
      for (const key of references) expect(demoSchema.settings.get(key)!.def.consumers).toContain(templates.service)
    }
  })
})
