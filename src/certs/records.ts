/**
 * What the replicated state holds about the platform's certificate. Private keys are secrets: they
 * travel only in log entries (on the private mesh) and the state store, and are never logged or shown.
 */

/** The platform's one ACME account, reused across renewals. */
export interface AcmeAccountRecord {
  readonly directoryUrl: string
  readonly url: string
  readonly email: string | null
  /** PEM; a secret. */
  readonly keyPem: string
}

/** The certificate in force: what every node installs where the release's services read it. */
export interface CertificateRecord {
  readonly names: readonly string[]
  /** The leaf first, then the intermediates (PEM). */
  readonly chainPem: string
  /** PEM; a secret. */
  readonly keyPem: string
  readonly issuer: string
  readonly serial: string
  readonly notBefore: number
  readonly notAfter: number
  readonly source: 'acme' | 'import'
  /** Time of the entry that put it in force. */
  readonly installedAt: number
}

/** A certificate as proposed (the entry's time becomes `installedAt`). */
export type NewCertificate = Omit<CertificateRecord, 'installedAt'>

/** An order being worked on, kept so that a renewal interrupted by a crash resumes it. */
export interface OrderRecord {
  readonly url: string
  readonly directoryUrl: string
  readonly names: readonly string[]
  /** Key of the certificate being ordered (PEM); a secret. */
  readonly keyPem: string
}

export interface AttemptError {
  readonly message: string
  /** The ACME server's problem document, when it sent one. */
  readonly problem?: Readonly<Record<string, unknown>>
}

/** Who renews (a lease taken through the log), and how renewals went. */
export interface RenewalRecord {
  readonly holder?: { readonly peerId: string, readonly name: string, readonly since: number, readonly until: number, readonly reason: string }
  readonly order?: OrderRecord
  /** Failures since the last success. */
  readonly failures: number
  readonly lastAttempt?: { readonly at: number, readonly by: string, readonly ok: boolean, readonly error?: AttemptError }
  /** Not before this time (backoff, Retry-After). */
  readonly nextAttemptAt?: number
  /** Counters over the platform's life: orders placed, certificates obtained, failed attempts. */
  readonly orders: number
  readonly issued: number
  readonly failed: number
}

export type CertsRecord = AcmeAccountRecord | CertificateRecord | RenewalRecord

export const CERTS_KEYS = { account: 'account', certificate: 'certificate', renewal: 'renewal' } as const

export const NO_RENEWAL: RenewalRecord = { failures: 0, orders: 0, issued: 0, failed: 0 }

const isStr = (v: unknown, max = 100_000): v is string => typeof v === 'string' && v.length > 0 && v.length <= max
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isNames = (v: unknown): v is string[] => Array.isArray(v) && v.length >= 1 && v.length <= 100 && v.every((n) => isStr(n, 253))

/** Shape problems of a certificate record from the log; undefined when fine. */
export function certificateRecordProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'certificate must be an object'
  if (!isNames(v.names)) return 'certificate.names must be a list of names'
  if (!isStr(v.chainPem) || !isStr(v.keyPem, 20_000)) return 'certificate needs chainPem and keyPem'
  if (typeof v.issuer !== 'string' || !isStr(v.serial, 200)) return 'certificate needs issuer and serial'
  if (!isTime(v.notBefore) || !isTime(v.notAfter)) return 'certificate needs notBefore and notAfter'
  if (v.source !== 'acme' && v.source !== 'import') return 'certificate.source must be acme or import'
  return undefined
}

export function accountRecordProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'account must be an object'
  if (!isStr(v.directoryUrl, 2000) || !isStr(v.url, 2000) || !isStr(v.keyPem, 20_000)) return 'account needs directoryUrl, url and keyPem'
  if (v.email !== null && !isStr(v.email, 320)) return 'account.email must be a string or null'
  return undefined
}

export function orderRecordProblem(v: unknown): string | undefined {
  if (!isObj(v)) return 'order must be an object'
  if (!isStr(v.url, 2000) || !isStr(v.directoryUrl, 2000) || !isStr(v.keyPem, 20_000) || !isNames(v.names)) return 'order needs url, directoryUrl, names and keyPem'
  return undefined
}

export function attemptErrorProblem(v: unknown): string | undefined {
  if (!isObj(v) || !isStr(v.message, 4000)) return 'error needs a message'
  if (v.problem !== undefined && !isObj(v.problem)) return 'error.problem must be an object'
  return undefined
}
