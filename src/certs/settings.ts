import type { SettingsValues } from '../config/layers.js'
import { type CertKeyType, certsSettingsGroup } from '../config/schemas/certs.js'

export { type CertKeyType, certsSettingsGroup, LETS_ENCRYPT_DIRECTORY } from '../config/schemas/certs.js'

export interface CertsSettings {
  readonly directoryUrl: string
  readonly email: string | null
  readonly eab: { readonly kid: string, readonly hmacKey: string } | null
  readonly names: readonly string[]
  readonly keyType: CertKeyType
  readonly renewBeforeDays: number
}

/** The certificate settings from a node's effective values; `names` filled in from the domain and alias domains. */
export function certsSettings(values: SettingsValues, domain: string): CertsSettings {
  const v = (key: string): unknown => values[`certs.${key}`] ?? certsSettingsGroup.settings[key]?.default
  const configured = (v('names') as string[] | undefined) ?? []
  const aliases = (values['dns.aliasDomains'] as string[] | undefined) ?? []
  const names = configured.length > 0 ? configured : [domain, ...aliases].flatMap((d) => [d, `*.${d}`])
  const kid = v('eabKeyId') as string | null
  const hmacKey = v('eabHmacKey') as string | null
  return {
    directoryUrl: v('directoryUrl') as string,
    email: (v('email') as string | null) ?? null,
    eab: kid && hmacKey ? { kid, hmacKey } : null,
    names: [...new Set(names)],
    keyType: v('keyType') as CertKeyType,
    renewBeforeDays: v('renewBeforeDays') as number
  }
}
