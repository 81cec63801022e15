/** A DNS-01 challenge record: its name relative to the platform domain (as the log stores it), its full name, its value. */
export interface ChallengeRecord {
  readonly name: string
  readonly fqdn: string
  readonly value: string
}

/**
 * The challenge name of an identifier (`example.com`, or the base of `*.example.com`), relative to the
 * platform domain: alias domains are answered like the main one, so their challenges live at the same
 * relative names. Throws for a name the platform's DNS does not serve.
 */
export function challengeName(identifier: string, domain: string, aliasDomains: readonly string[]): string {
  const base = identifier.replace(/^\*\./, '')
  for (const zone of [domain, ...aliasDomains]) {
    if (base === zone) return '_acme-challenge'
    if (base.endsWith(`.${zone}`)) return `_acme-challenge.${base.slice(0, -zone.length - 1)}`
  }
  throw new Error(`${identifier} is not under ${[domain, ...aliasDomains].join(' or ')}: the platform's DNS cannot answer its challenge (set certs.names to names of the platform)`)
}
