/**
 * libp2p 3 (yamux) can throw from a callback it queued itself, outside any call of ours, when a
 * connection closes while a stream is being opened on it ("Cannot write to a stream that is
 * closed"). The stream is dead either way; such an error must not take the node down.
 */
export function isBenignLibp2pRace(err: unknown): boolean {
  return err instanceof Error && err.name === 'StreamStateError'
}
