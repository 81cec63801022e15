import { effectiveSettings } from '../config/layers.js'
import { platformRelease } from '../release/platform.js'
import { currentRelease, PLATFORM_SETTINGS_KEY, type PlatformState } from '../state/types.js'

export interface Hosting {
  readonly name?: string
  readonly description?: string
  readonly url?: string
}

/** What the register API reads from the platform's settings (the release's schema; defaults when a key is absent). */
export interface RegistrySettings {
  readonly domain: string
  /** `internals.registerSystemKey`: the role cores call with. */
  readonly systemKey?: string
  /** `internals.registerAdminKey`. */
  readonly adminKey?: string
  /** `platform.hostings`, or one `default` hosting. */
  readonly hostings: Readonly<Record<string, Hosting>>
  /** Each member's hosting (`machine.hosting`, `default` without one), by node name. */
  readonly coreHosting: ReadonlyMap<string, string>
  /** `api.invitationTokens`: null = open registration, [] = closed. */
  readonly invitationTokens: readonly string[] | null
  readonly defaultAuthUrl: string
  readonly trustedAuthUrls: readonly string[]
  readonly disableGetUsernameByEmail: boolean
  readonly serviceInfo: Readonly<Record<string, unknown>>
}

const DEFAULT_HOSTING = 'default'

let cache: { state: PlatformState, zoneRevision: number, domain: string, settings: RegistrySettings } | undefined

/**
 * The registry's settings in this state. Settings and members change only with entries that bump
 * the zone revision (registry entries do not), so the result is kept until it changes.
 */
export function registrySettings(state: PlatformState, domain: string): RegistrySettings {
  if (cache && cache.state === state && cache.zoneRevision === state.zoneRevision && cache.domain === domain) return cache.settings
  const schema = platformRelease(currentRelease(state)).schema
  const platform = state.platformSettings.get(PLATFORM_SETTINGS_KEY)
  const values = effectiveSettings(schema, { platform }).values
  const coreHosting = new Map<string, string>()
  for (const m of state.members.values()) {
    const machine = effectiveSettings(schema, { platform, machine: state.machineSettings.get(m.name) }).values
    coreHosting.set(m.name, typeof machine['machine.hosting'] === 'string' ? machine['machine.hosting'] : DEFAULT_HOSTING)
  }
  const str = (key: string): string | undefined => (typeof values[key] === 'string' && values[key] !== '' ? values[key] as string : undefined)
  const hostings = (values['platform.hostings'] as Record<string, Hosting> | undefined) ?? { [DEFAULT_HOSTING]: { name: 'Default', description: 'Default hosting' } }
  const settings: RegistrySettings = {
    domain,
    systemKey: str('internals.registerSystemKey'),
    adminKey: str('internals.registerAdminKey'),
    hostings,
    coreHosting,
    invitationTokens: Array.isArray(values['api.invitationTokens']) ? values['api.invitationTokens'] as string[] : null,
    defaultAuthUrl: str('api.defaultAuthUrl') ?? `https://sw.${domain}/access/access.html`,
    trustedAuthUrls: Array.isArray(values['api.trustedAuthUrls']) ? values['api.trustedAuthUrls'] as string[] : [],
    disableGetUsernameByEmail: values['api.disableGetUsernameByEmail'] === true,
    serviceInfo: {
      register: `https://reg.${domain}/`,
      access: `https://access.${domain}/access/`,
      api: `https://{username}.${domain}/`,
      name: str('serviceInfo.platformName') ?? 'Pryv.io',
      home: `https://sw.${domain}`,
      support: str('serviceInfo.supportUrl') ?? '',
      terms: str('serviceInfo.termsOfUseUrl') ?? '',
      eventTypes: str('api.eventTypesUrl') ?? 'https://pryv.github.io/event-types/flat.json',
      ...(str('serviceInfo.assetsUrl') ? { assets: { definitions: str('serviceInfo.assetsUrl') } } : {})
    }
  }
  cache = { state, zoneRevision: state.zoneRevision, domain, settings }
  return settings
}
