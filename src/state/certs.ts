import { type AcmeAccountRecord, CERTS_KEYS, type CertificateRecord, NO_RENEWAL, type RenewalRecord } from '../certs/records.js'
import type { StampedCommand } from './commands.js'
import type { ApplyOutcome, Refusal, StateChange } from './machine.js'
import type { PlatformState } from './types.js'

/** The certificate commands: one renewal lease platform-wide, its progress and outcome, and imports. */
export type CertsCommand = StampedCommand & { kind: 'certs.lease' | 'certs.progress' | 'certs.done' | 'certs.import' }

export function renewalOf(state: PlatformState): RenewalRecord {
  return (state.certs.get(CERTS_KEYS.renewal) as RenewalRecord | undefined) ?? NO_RENEWAL
}

export function certificateOf(state: PlatformState): CertificateRecord | undefined {
  return state.certs.get(CERTS_KEYS.certificate) as CertificateRecord | undefined
}

export function accountOf(state: PlatformState): AcmeAccountRecord | undefined {
  return state.certs.get(CERTS_KEYS.account) as AcmeAccountRecord | undefined
}

const refusal = (code: string, message: string): Refusal => ({ ok: false, code, message })

export function checkCertsCommand(state: PlatformState, cmd: CertsCommand): Refusal | undefined {
  const holder = renewalOf(state).holder
  switch (cmd.kind) {
    case 'certs.lease':
      if (!state.members.has(cmd.author)) return refusal('PRYV_NOT_A_MEMBER', 'only a member may renew the certificate')
      if (holder && holder.peerId !== cmd.author && holder.until > cmd.at && !cmd.takeover) {
        return refusal('PRYV_CERTS_BUSY', `${holder.name} is renewing the certificate (since ${new Date(holder.since).toISOString()})`)
      }
      return undefined
    case 'certs.progress':
    case 'certs.done':
      return holder?.peerId === cmd.author ? undefined : refusal('PRYV_CERTS_NOT_HOLDER', 'this node no longer holds the renewal lease')
    case 'certs.import':
      return undefined
  }
}

/** Applies a checked certificate command (called by applyCommand). */
export function applyCertsCommand(state: PlatformState, cmd: CertsCommand): ApplyOutcome {
  const renewal = renewalOf(state)
  const changes: StateChange[] = [{ type: 'certs', id: CERTS_KEYS.renewal }]
  const setRenewal = (r: RenewalRecord): void => void state.certs.set(CERTS_KEYS.renewal, r)
  switch (cmd.kind) {
    case 'certs.lease': {
      const name = state.members.get(cmd.author)!.name
      setRenewal({ ...renewal, holder: { peerId: cmd.author, name, since: cmd.at, until: cmd.until, reason: cmd.reason } })
      return { result: { ok: true, value: { order: renewal.order !== undefined } }, changes }
    }
    case 'certs.progress': {
      if (cmd.account) {
        state.certs.set(CERTS_KEYS.account, cmd.account)
        changes.push({ type: 'certs', id: CERTS_KEYS.account })
      }
      const { order: _order, ...rest } = renewal
      setRenewal({
        ...(cmd.order === null ? rest : cmd.order ? { ...rest, order: cmd.order } : renewal),
        holder: { ...renewal.holder!, until: cmd.until ?? renewal.holder!.until },
        orders: renewal.orders + (cmd.orderPlaced ? 1 : 0)
      })
      return { result: { ok: true }, changes }
    }
    case 'certs.done': {
      const { holder, order, nextAttemptAt: _next, ...rest } = renewal
      const by = holder!.name
      if (cmd.certificate) {
        state.certs.set(CERTS_KEYS.certificate, { ...cmd.certificate, installedAt: cmd.at })
        changes.push({ type: 'certs', id: CERTS_KEYS.certificate })
        setRenewal({ ...rest, failures: 0, issued: renewal.issued + 1, lastAttempt: { at: cmd.at, by, ok: true } })
      } else {
        setRenewal({
          ...rest,
          ...(cmd.keepOrder && order ? { order } : {}),
          failures: renewal.failures + 1,
          failed: renewal.failed + 1,
          lastAttempt: { at: cmd.at, by, ok: false, ...(cmd.error ? { error: cmd.error } : {}) },
          ...(cmd.nextAttemptAt !== undefined ? { nextAttemptAt: cmd.nextAttemptAt } : {})
        })
      }
      return { result: { ok: true }, changes }
    }
    case 'certs.import': {
      state.certs.set(CERTS_KEYS.certificate, { ...cmd.certificate, installedAt: cmd.at })
      // A certificate the operator bought ends any backoff: renewal starts over from its dates.
      const { nextAttemptAt: _next, ...rest } = renewal
      setRenewal({ ...rest, failures: 0 })
      return { result: { ok: true }, changes: [...changes, { type: 'certs', id: CERTS_KEYS.certificate }] }
    }
  }
}
