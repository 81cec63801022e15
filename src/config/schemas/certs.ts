import type { SchemaDef, SettingDef, TypeSpec } from '../schema.js'

/** Consumer name of settings the node itself reads (same as the DNS group's): no service restarts for them. */
const NODE = 'node-dns'

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory'

export type CertKeyType = 'ecdsa-p256' | 'rsa-2048' | 'rsa-4096'

const nodeSetting = (def: TypeSpec & { description: string, default?: unknown, nullable?: boolean }): SettingDef => ({ ...def, scope: 'platform', consumers: [NODE] }) as SettingDef

/**
 * Settings of the platform's certificate, obtained through ACME DNS-01 on the platform's own DNS
 * (consumed by the node itself): part of every release's schema, like the DNS group.
 */
export const certsSettingsGroup: SchemaDef['groups'][string] = {
  title: 'Certificates',
  description: 'The platform\'s certificate (ACME DNS-01 through its own DNS); see `pryv-node certs --help`.',
  settings: {
    directoryUrl: nodeSetting({ type: 'string', format: 'url', default: LETS_ENCRYPT_DIRECTORY, description: 'ACME directory URL (Let\'s Encrypt production by default; its staging or any RFC 8555 server).' }),
    email: nodeSetting({ type: 'string', format: 'email', default: null, nullable: true, description: 'ACME account e-mail; once set, the platform issues and renews its certificate by itself.' }),
    eabKeyId: nodeSetting({ type: 'string', default: null, nullable: true, description: 'External account binding key id, for ACME servers that require one.' }),
    eabHmacKey: { ...nodeSetting({ type: 'string', default: null, nullable: true, description: 'External account binding HMAC key (base64url).' }), secret: true } as SettingDef,
    names: nodeSetting({
      type: 'list',
      items: { type: 'string', pattern: '(\\*\\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z0-9-]{2,63}' },
      default: [],
      description: 'Names of the certificate; [] = the domain and *.<domain>, and the same for each alias domain.'
    }),
    keyType: nodeSetting({ type: 'enum', values: ['ecdsa-p256', 'rsa-2048', 'rsa-4096'], default: 'ecdsa-p256', description: 'Key of the certificate.' }),
    renewBeforeDays: nodeSetting({ type: 'integer', min: 1, max: 365, default: 30, description: 'Renew when fewer days remain (or at two thirds of the lifetime, for short-lived certificates).' })
  }
}
