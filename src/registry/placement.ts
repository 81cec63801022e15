import type { PlatformState } from '../state/types.js'
import type { RegistrySettings } from './settings.js'

/** A core's API base URL: `https://<node>.<domain>/`, the name every node's DNS answers. */
export function coreUrl(s: RegistrySettings, core: string): string {
  return `https://${core}.${s.domain}/`
}

/** The cores (node names) serving `hosting`, by name. */
export function coresOf(s: RegistrySettings, hosting: string): string[] {
  return [...s.coreHosting].filter(([, h]) => h === hosting).map(([core]) => core).sort()
}

/**
 * Where a new user of `hosting` goes, as v1 places it: the core of that hosting with the fewest
 * users (counts kept in the state, never scanned); the first hosting with a core when none is named.
 */
export function placeUser(state: PlatformState, s: RegistrySettings, hosting?: string): string | undefined {
  const hostings = hosting === undefined ? Object.keys(s.hostings) : [hosting]
  for (const h of hostings) {
    if (!Object.hasOwn(s.hostings, h)) continue
    let best: string | undefined
    for (const core of coresOf(s, h)) {
      if (best === undefined || (state.registryCounts.get(core) ?? 0) < (state.registryCounts.get(best) ?? 0)) best = core
    }
    if (best !== undefined) return best
  }
  return undefined
}

/**
 * The member a core name designates: a node name, `<node>.<domain>` (with a port or a path), or a URL on it. `anyUsed`
 * also accepts a core that still has users but is no longer a member.
 */
export function resolveCore(state: PlatformState, s: RegistrySettings, raw: unknown, anyUsed = false): string | undefined {
  if (typeof raw !== 'string' || raw.length > 300) return undefined
  let name = raw.trim().toLowerCase()
  if (/^https?:\/\//.test(name)) {
    try {
      name = new URL(name).hostname
    } catch {
      return undefined
    }
  }
  // Cores send the Host of the request they served: maybe with a port or a trailing path.
  name = name.replace(/[/:].*$/, '')
  if (name.endsWith(`.${s.domain}`)) name = name.slice(0, -s.domain.length - 1)
  if (s.coreHosting.has(name)) return name
  return anyUsed && state.registryCounts.has(name) ? name : undefined
}

/** v1's `/hostings`: regions → zones → hostings, each with `available` and `availableCore` (computed on every call). */
export function hostingsView(state: PlatformState, s: RegistrySettings): Record<string, unknown> {
  const hostings: Record<string, unknown> = {}
  for (const [key, h] of Object.entries(s.hostings)) {
    const core = placeUser(state, s, key)
    hostings[key] = { ...h, available: coresOf(s, key).length > 0, availableCore: core ? coreUrl(s, core) : '' }
  }
  return { regions: { default: { name: 'Default', localizedName: { en: 'Default' }, zones: { default: { name: 'Default', localizedName: { en: 'Default' }, hostings } } } } }
}
