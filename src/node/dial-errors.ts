export const KEY_MISMATCH = 'the platform key does not match'

/** Says in an operator's words why dialling a member failed. */
export function explainDialError(err: unknown): string {
  type Failure = { name?: string, message?: string, code?: string, errors?: unknown[], cause?: unknown }
  const e = err as Failure
  // The cause chain and aggregated errors hold the transport's own error (e.g. EncryptionFailedError).
  const all: Failure[] = []
  const visit = (x: unknown, depth: number): void => {
    if (!x || typeof x !== 'object' || depth > 5) return
    const f = x as Failure
    all.push(f)
    if (Array.isArray(f.errors)) for (const inner of f.errors) visit(inner, depth + 1)
    visit(f.cause, depth + 1)
  }
  visit(err, 0)
  const text = all.map((x) => `${x?.name ?? ''} ${x?.code ?? ''} ${x?.message ?? ''}`).join(' ')
  // A wrong platform key garbles the handshake; the remote resets it or lets it time out, so a
  // timed-out handshake may also be an overloaded member: say both.
  if (/EncryptionFailed/.test(text) && /TimeoutError|AbortError|timed? ?out|aborted/i.test(text)) {
    return `${KEY_MISMATCH} or the member did not finish the handshake in time (overloaded or slow network)`
  }
  if (/EncryptionFailed/.test(text)) return `${KEY_MISMATCH} (the invite is for another platform, or its key changed)`
  if (/ECONNREFUSED/.test(text)) return 'connection refused (no pryv-node listens there)'
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return 'host unreachable'
  if (/Timeout|ETIMEDOUT|aborted/i.test(text)) return 'no answer in time'
  if (/UnexpectedPeer|unexpected peer/i.test(text)) return 'a different node answers at that address (its identity does not match the invite)'
  return e?.message ?? String(err)
}
