import { type Command, InvalidArgumentError } from 'commander'

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "90s", "30m", "1h", "7d" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*([smhd])$/.exec(text.trim())
  if (!m) throw new InvalidArgumentError('use a number followed by s, m, h or d (e.g. 1h)')
  return Number(m[1]) * UNITS[m[2]!]!
}

/** Milliseconds as parseDuration reads them: the largest unit that divides them (3600000 → 1h). */
export function formatDuration(ms: number): string {
  const unit = Object.entries(UNITS).reverse().find(([, size]) => ms > 0 && ms % size === 0)
  return unit ? `${ms / unit[1]}${unit[0]}` : `${ms / 1000}s`
}

/** Help shows the default of every duration option as it is typed (`default: 1h`, not 3600000). */
export function describeDurationDefaults(command: Command): void {
  for (const option of command.options) {
    if (option.parseArg === parseDuration && typeof option.defaultValue === 'number' && option.defaultValueDescription === undefined) {
      option.defaultValueDescription = formatDuration(option.defaultValue)
    }
  }
  for (const sub of command.commands) describeDurationDefaults(sub)
}

export function parsePositiveInt(text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('use a whole number of at least 1')
  return n
}

/** "host:port" or "[v6]:port" for DNS listeners; "none" disables. */
export function parseHostPorts(text: string): string[] {
  if (text === 'none') return []
  return text.split(',').map((part) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(part.trim())
    if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError(`"${part}" is not host:port (use [addr]:port for IPv6, or none)`)
    return part.trim()
  })
}

/** Members' mesh addresses to dial (`start --peer`): ip:port, or an IP or DNS multiaddr with a TCP port. */
export function parsePeers(text: string): string[] {
  return parseListen(text).map((a) => {
    // The shape the mesh takes from other members (src/mesh/addresses.ts isDialable), checked without loading multiaddr.
    if (!/^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d{1,5}$/.test(a)) throw new InvalidArgumentError(`"${a}" is not a member's mesh address (ip:port, or /ip4|/ip6|/dns/<host>/tcp/<port>)`)
    return a
  })
}

/** "/ip4/0.0.0.0/tcp/7400" multiaddrs, or host:port shorthand. */
export function parseListen(text: string): string[] {
  return text.split(',').map((part) => {
    const p = part.trim()
    if (p.startsWith('/')) return p
    const m = /^(\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(p)
    if (!m || Number(m[4]) > 65535) throw new InvalidArgumentError(`"${p}" is neither a multiaddr nor ip:port`)
    return m[2] ? `/ip6/${m[2]}/tcp/${m[4]}` : `/ip4/${m[3]}/tcp/${m[4]}`
  })
}
