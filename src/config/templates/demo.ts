// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are pryv templates, not JS template literals.
import type { ServiceTemplates } from '../render.js'

/** Templates of the demo release's two services (see render.ts for the format). */
export const demoApiTemplates: ServiceTemplates = {
  service: 'demo-api',
  files: [
    {
      path: 'conf/api.json',
      content: JSON.stringify(
        {
          server: { host: '${machine.listenIp}', port: { $setting: 'api.port' } },
          publicUrl: 'https://api.${platform.domain}',
          logLevel: '${api.logLevel}',
          cors: { origins: '${api.corsOrigins}' },
          session: { secret: '${api.sessionSecret}' }
        },
        null,
        2
      )
    }
  ]
}

export const demoWebTemplates: ServiceTemplates = {
  service: 'demo-web',
  files: [
    {
      path: 'conf/web.yml',
      content: [
        'title: "${platform.name}"',
        'apiUrl: "https://api.${platform.domain}:${api.port}"',
        'listen:',
        '  host: "${machine.listenIp}"',
        '  port: 8080',
        ''
      ].join('\n')
    },
    {
      path: 'templates/index.html',
      content: [
        '<!doctype html>',
        '<title>${platform.name}</title>',
        '<p>API: <a href="https://api.${platform.domain}:${api.port}/">api.${platform.domain}</a></p>',
        ''
      ].join('\n')
    }
  ]
}

export const demoTemplates: readonly ServiceTemplates[] = [demoApiTemplates, demoWebTemplates]
