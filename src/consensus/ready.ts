import type { Message, Ready } from './types.js'

/**
 * The messages of a Ready that a leader may send before its own disk write ends (Ongaro's thesis
 * §10.2.1: the leader writes to its disk in parallel with replicating). Only appends, heartbeats
 * and commit notices qualify, and only when the commit index they carry covers no entry of this Ready: a follower that
 * applies up to that index then applies only entries the leader already holds durably. The commit
 * index that counts this Ready's entries reaches anyone only through a later Ready, which the driver
 * takes after this one's write. Everything else waits for the write (votes above all).
 */
export function sendableBeforePersist(rd: Ready): readonly Message[] {
  if (rd.snapshot) return []
  const firstUnstable = rd.entries[0]?.index ?? Number.POSITIVE_INFINITY
  return rd.messages.filter((m) => (m.type === 'append' || m.type === 'heartbeat' || m.type === 'commit') && m.commit < firstUnstable)
}
