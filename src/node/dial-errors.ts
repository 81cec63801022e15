/** Says in an operator's words why dialling a member failed. */
export function explainDialError(err: unknown): string {
  const e = err as { name?: string, message?: string, code?: string, errors?: unknown[] }
  const all = [e, ...(Array.isArray(e?.errors) ? (e.errors as typeof e[]) : [])]
  const text = all.map((x) => `${x?.name ?? ''} ${x?.code ?? ''} ${x?.message ?? ''}`).join(' ')
  if (/EncryptionFailed/.test(text)) return 'the platform key does not match (the invite is for another platform, or its key changed)'
  if (/ECONNREFUSED/.test(text)) return 'connection refused (no pryv-node listens there)'
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return 'host unreachable'
  if (/Timeout|ETIMEDOUT|aborted/i.test(text)) return 'no answer in time'
  if (/UnexpectedPeer|unexpected peer/i.test(text)) return 'a different node answers at that address (its identity does not match the invite)'
  return e?.message ?? String(err)
}
