import { hostname } from 'node:os'

/** Defaults for a production node; `pryv-node dev` uses the loopback ones below instead. */
export const productionDefaults = {
  dataDir: '/var/lib/pryv-node',
  listen: '/ip4/0.0.0.0/tcp/7400',
  dns: '0.0.0.0:53'
} as const

export const devDefaults = {
  dataDir: '.pryv-dev',
  domain: 'pryv.test',
  name: 'dev',
  listen: '/ip4/127.0.0.1/tcp/7400',
  dns: '127.0.0.1:5300'
} as const

/** The host name turned into a valid node name (a DNS label). */
export function defaultNodeName(): string {
  const label = hostname().split('.')[0]!.toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63)
  return label || 'node'
}
