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
    // First in the chain (acme-client's own handler cannot report an unreachable server: it fails
    // reading the missing response), so a network error reaches the caller as it happened.
    const handlers = (acme.axios.interceptors.response as unknown as { handlers: unknown[] }).handlers
    handlers.unshift({
      fulfilled: (resp: never) => { record(resp); return resp },
      rejected: (err: { response?: never, code?: string, message?: string, config?: { url?: string } }) => {
        if (err.response) {
          record(err.response)
          throw err
        }
        throw new AcmeError(`the ACME server cannot be reached at ${err.config?.url ?? '?'}: ${err.code ?? err.message}`)
      },
      synchronous: false,
      runWhen: null
    })
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
  if (!order && input.account?.directoryUrl === settings.directoryUrl) {
    // A node that died between placing its order and recording it: the order is still the account's.
    const pending = await pendingOrder(client, names, fx.log)
    if (pending) {
      order = pending
      resumed = { url: (pending as Order & { url: string }).url, directoryUrl: settings.directoryUrl, names, keyPem: (await newKey(acme, settings.keyType)).toString() }
      await fx.saveProgress({ order: resumed })
      fx.log.info({ order: resumed.url, status: pending.status }, 'resuming an unrecorded pending order of the platform\'s account')
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
    await Promise.all(work.map(({ authz }) => client.waitForValidStatus(authz))).catch(async (err) => {
      throw await validationError(client, order, err)
    })
  } finally {
    await fx.removeChallenges(records)
  }
}

/** How many of the account's most recent orders are looked at for one to resume. */
const RECENT_ORDERS = 10

/**
 * A pending (or ready) order of the account for exactly these names, from its orders list (RFC 8555
 * §7.1.2.1): not finalized yet, so it can be finished with a new key. Undefined when there is none or
 * the server does not list orders.
 */
async function pendingOrder(client: Client, names: readonly string[], log: Logger): Promise<Order | undefined> {
  try {
    const api = (client as unknown as { api: { apiRequest: (url: string, payload: null, codes: number[]) => Promise<{ data: unknown }> } }).api
    const account = await client.updateAccount({}) as { orders?: string }
    if (!account.orders) return undefined
    const list = (await api.apiRequest(account.orders, null, [200])).data as { orders?: string[] }
    for (const url of (list.orders ?? []).slice(-RECENT_ORDERS).reverse()) {
      const order = await client.getOrder({ url } as Order)
      const values = order.identifiers.map((i) => i.value)
      if ((order.status === 'pending' || order.status === 'ready') && sameNames(values, names)) return order
    }
  } catch (err) {
    log.debug({ err: (err as Error).message }, 'cannot list the account\'s orders')
  }
  return undefined
}

/** A refused validation, with the problem document the server attached to the failed challenge. */
async function validationError(client: Client, order: Order, err: unknown): Promise<AcmeError> {
  const authorizations = await client.getAuthorizations(order).catch(() => [] as Authorization[])
  for (const authz of authorizations) {
    const failed = authz.challenges.find((c) => c.type === 'dns-01' && (c as { error?: unknown }).error)
    const problem = (failed as { error?: Record<string, unknown> } | undefined)?.error
    if (problem) return new AcmeError(`validation of ${authz.identifier.value} refused: ${String(problem.detail ?? problem.type)}`, problem, undefined, { cause: err })
  }
  return new AcmeError((err as Error).message, undefined, undefined, { cause: err })
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
