import { Resolver } from 'node:dns/promises'
import type { ChallengeRecord } from './challenges.js'

/** One name server of the platform: a node and the address (host:port) its DNS server answers on ('' while unknown). */
export interface NameServer {
  readonly node: string
  readonly address: string
}

/** The TXT values `server` answers for `fqdn` now; [] when it answers none or does not answer. */
export async function txtValues(server: string, fqdn: string, timeoutMs = 1000): Promise<string[]> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 })
  resolver.setServers([server])
  try {
    return (await resolver.resolveTxt(fqdn)).map((chunks) => chunks.join(''))
  } catch {
    return []
  } finally {
    resolver.cancel()
  }
}

/** Name servers that do not answer every record yet. */
export async function missingOn(servers: readonly NameServer[], records: readonly ChallengeRecord[]): Promise<NameServer[]> {
  const answers = await Promise.all(servers.map(async (s) => {
    if (s.address === '') return false
    for (const r of records) if (!(await txtValues(s.address, r.fqdn)).includes(r.value)) return false
    return true
  }))
  return servers.filter((_, i) => !answers[i])
}

/**
 * Waits until every name server answers every record, asking each directly (no resolver cache, no
 * fixed sleep: it asks again as soon as an answer comes back incomplete, at most every `pollMs`).
 * Throws, naming the servers that still do not answer, when `signal` aborts.
 */
export async function awaitTxtEverywhere(servers: () => Promise<readonly NameServer[]>, records: readonly ChallengeRecord[], signal: AbortSignal, pollMs = 50): Promise<void> {
  let missing: NameServer[] = []
  for (;;) {
    const started = Date.now()
    missing = await missingOn(await servers(), records)
    if (missing.length === 0) return
    if (signal.aborted) break
    const wait = Math.max(0, pollMs - (Date.now() - started))
    await new Promise((resolve) => setTimeout(resolve, wait))
    if (signal.aborted) break
  }
  throw new Error(`the challenge is not served by ${missing.map((s) => `${s.node} (${s.address || 'unreachable'})`).join(', ')}: every name server must answer it before the ACME server validates`)
}
