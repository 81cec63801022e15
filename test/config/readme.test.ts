import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { demoSchema, effectiveSettings, parseSettingsYaml, pryvIoSchema, renderService } from '../../src/config/index.js'

const readme = readFileSync(new URL('../../src/config/README.md', import.meta.url), 'utf8')
const blocks = (lang: string): string[] => [...readme.matchAll(new RegExp(`~~~ ${lang}\\n([\\s\\S]*?)~~~`, 'g'))].map((m) => m[1]!)

describe('src/config/README.md examples', () => {
  it('has the CoreDNS outline', () => {
    expect([...readme.matchAll(/^## (\w+)/gm)].map((m) => m[1])).toEqual(['Name', 'Description', 'Settings', 'Templates', 'Examples'])
  })

  it('every YAML example is a valid settings file for one of the shipped schemas', () => {
    const yamls = blocks('yaml')
    expect(yamls).toHaveLength(2)
    const [demo, pryv] = yamls
    expect(parseSettingsYaml(demoSchema, demo!, 'README demo').problems).toEqual([])
    expect(parseSettingsYaml(pryvIoSchema, pryv!, 'README pryv.io').problems).toEqual([])
  })

  it('the JSON template example renders with the demo schema', () => {
    const [template] = blocks('json')
    const eff = effectiveSettings(demoSchema, { platform: { 'api.sessionSecret': 's' } })
    const out = renderService({ service: 'demo-api', files: [{ path: 'conf/api.json', content: template! }] }, eff.values)
    expect(JSON.parse(out['conf/api.json']!)).toEqual({ server: { host: '0.0.0.0', port: 3000 }, publicUrl: 'https://api.demo.pryv.local' })
  })
})
