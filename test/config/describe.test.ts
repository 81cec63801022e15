import { describe, expect, it } from 'vitest'
import { demoSchema, describeSchema, describeSchemaJson } from '../../src/config/index.js'

describe('describeSchema', () => {
  it('lists groups and keys with type, default, scope, secrets, variable and consumers', () => {
    expect(describeSchema(demoSchema)).toBe(
      [
        'Settings (demo)',
        '',
        'platform — Platform',
        '  platform.name  string (1..60 chars)  [platform-wide]',
        '      Name shown on the demo web page.',
        '      default: "Demo platform"; env PRYV_PLATFORM_NAME; used by demo-web',
        '  platform.domain  string (hostname)  [platform-wide]',
        '      Platform domain; the API is served at api.<domain>.',
        '      default: "demo.pryv.local"; env PRYV_PLATFORM_DOMAIN; used by demo-api, demo-web',
        '',
        'api — Demo API',
        '  api.port  port  [platform, machine override allowed]',
        '      TCP port the demo API listens on.',
        '      default: 3000; env PRYV_API_PORT; used by demo-api, demo-web',
        '  api.logLevel  error|warn|info|debug  [platform, machine override allowed]',
        '      Demo API log verbosity; raise it on one node while debugging.',
        '      default: "info"; env PRYV_API_LOG_LEVEL; used by demo-api',
        '  api.corsOrigins  list of string (url)  [platform-wide]',
        '      Origins allowed to call the API from a browser.',
        '      default: []; env PRYV_API_CORS_ORIGINS; used by demo-api',
        '  api.sessionSecret  string  [platform-wide; secret, generated at init]',
        '      Key signing API session cookies.',
        '      generated; env PRYV_API_SESSION_SECRET; used by demo-api',
        '',
        'machine — This machine',
        '  machine.listenIp  string (ip)  [per machine]',
        '      Address the demo services bind to on this node.',
        '      default: "0.0.0.0"; env PRYV_MACHINE_LISTEN_IP; used by demo-api, demo-web',
        ''
      ].join('\n')
    )
  })

  it('gives an admin UI a JSON form model that survives serialisation', () => {
    const model = describeSchemaJson(demoSchema)
    expect(JSON.parse(JSON.stringify(model))).toEqual(model)
    const secret = model.groups[1]!.settings.find((s) => s.key === 'api.sessionSecret')!
    expect(secret).toEqual({
      key: 'api.sessionSecret',
      group: 'api',
      name: 'sessionSecret',
      envName: 'PRYV_API_SESSION_SECRET',
      description: 'Key signing API session cookies.',
      scope: 'platform',
      type: { type: 'string' },
      nullable: false,
      required: false,
      secret: true,
      generated: true,
      consumers: ['demo-api']
    })
    expect(model.groups[1]!.settings[0]).toMatchObject({ key: 'api.port', type: { type: 'integer', format: 'port' }, default: 3000, required: false })
  })
})
