import type { LivenessView } from '../mesh/liveness.js'

/**
 * How a rollout (release pre-pull, restart waves) treats a member:
 * - `up`: heard from within the liveness window;
 * - `late`: its heartbeats are late (a busy machine, a slow link) but it was heard from within
 *   ROLLOUT_DOWN_AFTER_MS: it is asked and waited for like a member that is up, never counted as done;
 * - `down`: silent for longer: the rollout goes on without it and reports it; the member renders,
 *   pulls and restarts what it lacks when it starts again.
 */
export type RolloutPresence = 'up' | 'late' | 'down'

/** Silence after which a member counts as down for a rollout: as long as a voter is given before it is replaced. */
export const ROLLOUT_DOWN_AFTER_MS = 30_000

/** `uptimeMs`: how long this node has been listening, for members it has never heard from. */
export function rolloutPresence(view: LivenessView, uptimeMs: number): RolloutPresence {
  if (view.alive) return 'up'
  return (view.lastSeenAgoMs ?? uptimeMs) > ROLLOUT_DOWN_AFTER_MS ? 'down' : 'late'
}
