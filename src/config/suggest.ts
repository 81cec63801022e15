/** Levenshtein distance, case-insensitive: operators mistype case as often as letters. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase()
  const t = b.toLowerCase()
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const row = [i]
    for (let j = 1; j <= t.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1))
    }
    prev = row
  }
  return prev[t.length]!
}

/** The closest candidate, if it is close enough to be a plausible typo (about a third of the name). */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3))
  let best: string | undefined
  let bestDistance = limit + 1
  for (const candidate of candidates) {
    const d = editDistance(name, candidate)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best
}

/** "unknown setting 'dns.ttll' — did you mean 'dns.ttl'?" */
export function unknownMessage(kind: string, name: string, candidates: Iterable<string>): string {
  const guess = closest(name, candidates)
  return guess === undefined
    ? `unknown ${kind} '${name}'`
    : `unknown ${kind} '${name}' — did you mean '${guess}'?`
}
