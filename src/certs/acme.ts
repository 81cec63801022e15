import type { Authorization, Client, Order } from 'acme-client'
import type { Logger } from '../log.js'
import { challengeName, type ChallengeRecord } from './challenges.js'
import { parseRetryAfter } from './policy.js'
import type { AcmeAccountRecord, AttemptError, NewCertificate, OrderRecord } from './records.js'
import type { CertKeyType, CertsSettings } from './settings.js'
import { describeCertificate } from './x509.js'

type AcmeModule = typeof import('acme-client')

/** What issuance does outside the ACME conversation: through the platform log and its DNS. */
export interface IssueEffects {
  /** Records progress through the log (the account, the order placed or dropped): a successor resumes from it. */
  readonly saveProgress: (progress: { account?: AcmeAccountRecord, order?: OrderRecord | null, orderPlaced?: boolean }) => Promise<void>
  readonly publishChallenges: (records: readonly ChallengeRecord[]) => Promise<void>
  /** Resolves once every name server of the platform answers every record. */
  readonly awaitPropagation: (records: readonly ChallengeRecord[]) => Promise<void>
  /** Called whatever happened, once challenges were published. */
  readonly removeChallenges: (records: readonly ChallengeRecord[]) => Promise<void>
  readonly log: Logger
}

export interface IssueInput {
  readonly domain: string
  readonly aliasDomains: readonly string[]
  readonly settings: CertsSettings
  readonly account?: AcmeAccountRecord
  /** An order an interrupted renewal placed: resumed when it still can be. */
  readonly order?: OrderRecord
}

/** An ACME failure, with the server's problem document and Retry-After when it sent them. */
export class AcmeError extends Error {
  static override name = 'AcmeError'
  override name = 'AcmeError'
  constructor(message: string, readonly problem?: Record<string, unknown>, readonly retryAfterMs?: number, options?: ErrorOptions) {
    super(message, options)
  }

  toAttemptError(): AttemptError {
    return { message: this.message, ...(this.problem ? { problem: this.problem } : {}) }
  }
}

let loaded: Promise<AcmeModule> | undefined
/** The last problem document an ACME server answered (one issuance at a time per node). */
let lastProblem: { problem: Record<string, unknown>, retryAfterMs?: number } | undefined

/** acme-client and its dependencies are loaded only when a certificate is issued, never at start-up. */
function acmeClient(): Promise<AcmeModule> {
  loaded ??= import('acme-client').then((mod) => {
    const acme = ((mod as { default?: AcmeModule }).default ?? mod) as AcmeModule
    // Retries, backoff and Retry-After are the renewal loop's: a request fails fast here.
    const defaults = acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number, retryDefaultDelay: number }, timeout: number }
    defaults.acmeSettings.retryMaxAttempts = 0
    defaults.timeout = 30_000
    const record = (resp: { status?: number, data?: unknown, headers?: Record<string, unknown> } | undefined): void => {
      if (!resp?.status || resp.status < 400) return
      const data = resp.data
      if (typeof data === 'object' && data !== null && 'type' in data) {
        const retryAfterMs = parseRetryAfter(resp.headers?.['retry-after'], Date.now())
        lastProblem = { problem: data as Record<string, unknown>, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }
      }
    }
    acme.axios.interceptors.response.use((resp) => { record(resp); return resp }, (err) => { record((err as { response?: never }).response); throw err })
    return acme
  })
  return loaded
}

function lastProblemSeen(): typeof lastProblem {
  return lastProblem
}

const POLL = { backoffAttempts: 12, backoffMin: 250, backoffMax: 5000 }

/**
 * Obtains a certificate for the settings' names through DNS-01 on the platform's own DNS: reuses (or
 * creates) the platform's account, resumes the order an interrupted renewal placed (or places one),
 * publishes the challenges, waits until every name server answers them, has the server validate,
 * finalizes and downloads the chain. Challenges are removed whatever happens. Throws AcmeError.
 */
export async function issueCertificate(input: IssueInput, fx: IssueEffects): Promise<NewCertificate> {
  const acme = await acmeClient()
  lastProblem = undefined
  try {
    return await issue(acme, input, fx)
  } catch (err) {
    const error = asAcmeError(err)
    // The server forgot the platform's account (a test server restarted, an account deactivated): a new one.
    if (input.account && String(error.problem?.type).endsWith(':accountDoesNotExist')) {
      fx.log.warn({ account: input.account.url }, 'the ACME server does not know the platform\'s account: creating a new one')
      return issueCertificate({ ...input, account: undefined, order: undefined }, fx)
    }
    throw error
  }
}

function asAcmeError(err: unknown): AcmeError {
  if (err instanceof AcmeError) return err
  const problem = lastProblemSeen()
  return new AcmeError(`${(err as Error).message || String(err)}`, problem?.problem, problem?.retryAfterMs, { cause: err })
}

async function issue(acme: AcmeModule, input: IssueInput, fx: IssueEffects): Promise<NewCertificate> {
  const { settings } = input
  const client = await accountClient(acme, input, fx)
  const names = [...settings.names]
  let resumed = input.order && input.order.directoryUrl === settings.directoryUrl && sameNames(input.order.names, names) ? input.order : undefined
  let order: Order | undefined
  if (resumed) {
    try {
      order = await client.getOrder({ url: resumed.url } as Order)
      if (order.status === 'invalid') order = undefined
      else fx.log.info({ order: resumed.url, status: order.status }, 'resuming the certificate order of an interrupted renewal')
    } catch (err) {
      fx.log.info({ order: resumed.url, err: (err as Error).message }, 'the interrupted renewal\'s order cannot be resumed: placing a new one')
      order = undefined
    }
  }
  if (!order) {
    const keyPem = (await newKey(acme, settings.keyType)).toString()
    order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) })
    resumed = { url: (order as Order & { url: string }).url, directoryUrl: settings.directoryUrl, names, keyPem }
    await fx.saveProgress({ order: resumed, orderPlaced: true })
    fx.log.info({ order: resumed.url, names }, 'certificate ordered')
  }
  const url = resumed!.url
  // Statuses come back without the order's URL, which the next calls need.
  const withUrl = (o: Order): Order => Object.assign(o, { url })
  if (order.status === 'pending') {
    await authorize(client, order, input, fx)
    order = withUrl(await client.waitForValidStatus(order))
  }
  if (order.status === 'ready') {
    const [, csr] = await acme.crypto.createCsr({ altNames: names }, resumed!.keyPem)
    order = withUrl(await client.finalizeOrder(order, csr))
  }
  if (order.status !== 'valid') order = withUrl(await client.waitForValidStatus(order))
  const chain = await client.getCertificate(order)
  return describeCertificate(chain, resumed!.keyPem, 'acme')
}

/** The platform's account, created (and recorded through the log) on first use or when the directory changed. */
async function accountClient(acme: AcmeModule, input: IssueInput, fx: IssueEffects): Promise<Client> {
  const { settings, account } = input
  const eab = settings.eab ? { externalAccountBinding: { kid: settings.eab.kid, hmacKey: settings.eab.hmacKey } } : {}
  if (account && account.directoryUrl === settings.directoryUrl) {
    return new acme.Client({ directoryUrl: settings.directoryUrl, accountKey: account.keyPem, accountUrl: account.url, ...POLL, ...eab })
  }
  const keyPem = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString()
  const client = new acme.Client({ directoryUrl: settings.directoryUrl, accountKey: keyPem, ...POLL, ...eab })
  await client.createAccount({ termsOfServiceAgreed: true, ...(settings.email ? { contact: [`mailto:${settings.email}`] } : {}) })
  await fx.saveProgress({ account: { directoryUrl: settings.directoryUrl, url: client.getAccountUrl(), email: settings.email, keyPem } })
  fx.log.info({ directory: settings.directoryUrl, account: client.getAccountUrl() }, 'ACME account created')
  return client
}

/** Answers every pending authorization's DNS-01 challenge through the platform's DNS. */
async function authorize(client: Client, order: Order, input: IssueInput, fx: IssueEffects): Promise<void> {
  const pending = (await client.getAuthorizations(order)).filter((a) => a.status === 'pending')
  const work: Array<{ authz: Authorization, challenge: Authorization['challenges'][number] }> = []
  const records: ChallengeRecord[] = []
  for (const authz of pending) {
    const challenge = authz.challenges.find((c) => c.type === 'dns-01')
    if (!challenge) throw new AcmeError(`the ACME server offers no DNS-01 challenge for ${authz.identifier.value}`)
    const value = await client.getChallengeKeyAuthorization(challenge)
    records.push({ fqdn: `_acme-challenge.${authz.identifier.value}`, name: challengeName(authz.identifier.value, input.domain, input.aliasDomains), value })
    work.push({ authz, challenge })
  }
  if (work.length === 0) return
  try {
    await fx.publishChallenges(records)
    await fx.awaitPropagation(records)
    await Promise.all(work.map(({ challenge }) => client.completeChallenge(challenge)))
    await Promise.all(work.map(({ authz }) => client.waitForValidStatus(authz)))
  } finally {
    await fx.removeChallenges(records)
  }
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join() === [...b].sort().join()
}

async function newKey(acme: AcmeModule, type: CertKeyType): Promise<Buffer> {
  switch (type) {
    case 'ecdsa-p256': return acme.crypto.createPrivateEcdsaKey('P-256')
    case 'rsa-2048': return acme.crypto.createPrivateRsaKey(2048)
    case 'rsa-4096': return acme.crypto.createPrivateRsaKey(4096)
  }
}
