/** Semantic versions (semver.org 2.0.0): parsing and precedence, nothing else. */

const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/

export function isSemver(version: string): boolean {
  return SEMVER.test(version)
}

/**
 * Precedence of two valid versions: negative when `a` comes first. Build metadata is ignored and a
 * pre-release comes before its release (1.0.0-rc.1 < 1.0.0).
 */
export function compareSemver(a: string, b: string): number {
  const [pa, pb] = [SEMVER.exec(a), SEMVER.exec(b)]
  if (!pa || !pb) throw new TypeError(`not a semantic version: ${pa ? b : a}`)
  for (let i = 1; i <= 3; i++) {
    const d = Number(pa[i]) - Number(pb[i])
    if (d !== 0) return d
  }
  const [ra, rb] = [pa[4], pb[4]]
  if (ra === undefined || rb === undefined) return ra === rb ? 0 : ra === undefined ? 1 : -1
  const [xa, xb] = [ra.split('.'), rb.split('.')]
  for (let i = 0; i < Math.min(xa.length, xb.length); i++) {
    const d = compareIdentifier(xa[i]!, xb[i]!)
    if (d !== 0) return d
  }
  return xa.length - xb.length
}

function compareIdentifier(a: string, b: string): number {
  const [na, nb] = [/^\d+$/.test(a), /^\d+$/.test(b)]
  if (na && nb) return Number(a) - Number(b)
  if (na !== nb) return na ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}
