import { defineSchema, type Schema, type SchemaDef } from '../schema.js'

/** The built-in single-node demo platform: two services, a few keys, one secret, one per-machine key. */
export const demoSchemaDef: SchemaDef = {
  name: 'demo',
  groups: {
    platform: {
      title: 'Platform',
      settings: {
        name: {
          type: 'string',
          minLength: 1,
          maxLength: 60,
          default: 'Demo platform',
          description: 'Name shown on the demo web page.',
          scope: 'platform',
          consumers: ['demo-web']
        },
        domain: {
          type: 'string',
          format: 'hostname',
          default: 'demo.pryv.local',
          description: 'Platform domain; the API is served at api.<domain>.',
          scope: 'platform',
          consumers: ['demo-api', 'demo-web']
        }
      }
    },
    api: {
      title: 'Demo API',
      settings: {
        port: {
          type: 'integer',
          format: 'port',
          default: 3000,
          description: 'TCP port the demo API listens on.',
          scope: 'both',
          consumers: ['demo-api', 'demo-web']
        },
        logLevel: {
          type: 'enum',
          values: ['error', 'warn', 'info', 'debug'],
          default: 'info',
          description: 'Demo API log verbosity; raise it on one node while debugging.',
          scope: 'both',
          consumers: ['demo-api']
        },
        corsOrigins: {
          type: 'list',
          items: { type: 'string', format: 'url' },
          default: [],
          description: 'Origins allowed to call the API from a browser.',
          scope: 'platform',
          consumers: ['demo-api']
        },
        sessionSecret: {
          type: 'string',
          secret: true,
          generate: { kind: 'random', bytes: 32, encoding: 'base64url' },
          description: 'Key signing API session cookies.',
          scope: 'platform',
          consumers: ['demo-api']
        }
      }
    },
    machine: {
      title: 'This machine',
      settings: {
        listenIp: {
          type: 'string',
          format: 'ip',
          default: '0.0.0.0',
          description: 'Address the demo services bind to on this node.',
          scope: 'machine',
          consumers: ['demo-api', 'demo-web']
        }
      }
    }
  }
}

export const demoSchema: Schema = defineSchema(demoSchemaDef)
