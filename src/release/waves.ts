import { compareText } from '../text-order.js'

/**
 * The restart waves of rolling restarts (settings and releases): the first member by name alone (the
 * canary), then the others in groups of `budget` (`--restart-budget`), by name. The settings
 * service waits its turn by them and the admin rollout view shows them: one rule for both.
 */
export function restartWaves<T>(members: readonly T[], budget: number, nameOf: (member: T) => string): T[][] {
  const sorted = [...members].sort((a, b) => compareText(nameOf(a), nameOf(b)))
  const size = Math.max(1, Math.floor(budget))
  const waves: T[][] = sorted.length > 0 ? [sorted.slice(0, 1)] : []
  for (let i = 1; i < sorted.length; i += size) waves.push(sorted.slice(i, i + size))
  return waves
}
