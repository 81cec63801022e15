import { v1Error } from './errors.js'
import type { RegistrySettings } from './settings.js'

/** v1's access request key: 10 to 200 alphanumeric characters. */
export function isAccessKey(key: string): boolean {
  return /^[A-Za-z0-9]{10,200}$/.test(key)
}

const str = (v: unknown, min: number, max: number): string | null => {
  if (typeof v !== 'string') return null
  const t = v.trim()
  return t.length >= min && t.length <= max ? t : null
}

/**
 * Checks a `POST /access` body as v1 does and builds the new request's state (status NEED_SIGNIN,
 * code 201) under `key`. Throws v1's error for a bad field.
 */
export function checkAccessRequest(b: Record<string, unknown>, s: RegistrySettings, key: string): Record<string, unknown> {
  const requestingAppId = str(b.requestingAppId, 6, 99)
  if (!requestingAppId) throw v1Error(400, 'INVALID_APP_ID', { requestingAppId: b.requestingAppId })
  if (!Array.isArray(b.requestedPermissions)) throw v1Error(400, 'INVALID_DATA', { detail: 'Missing or invalid requestedPermissions field' })
  const lang = b.languageCode === undefined || b.languageCode === null || b.languageCode === '' ? 'en' : typeof b.languageCode === 'string' && b.languageCode.length <= 5 ? b.languageCode : null
  if (lang === null) throw v1Error(400, 'INVALID_LANGUAGE')
  let returnURL: string | null | undefined
  if (b.returnURL === undefined || b.returnURL === null || typeof b.returnURL === 'string') returnURL = b.returnURL as string | null | undefined
  else if (b.returnURL === false) returnURL = null
  else throw v1Error(400, 'INVALID_DATA', { detail: 'Invalid returnURL field.' })
  if (b.serviceInfo !== undefined && b.serviceInfo !== null && !(typeof b.serviceInfo === 'object' && (b.serviceInfo as { name?: unknown }).name)) {
    throw v1Error(400, 'INVALID_SERVICE_INFO_URL', { detail: b.serviceInfo })
  }
  let url = s.defaultAuthUrl
  if (b.authUrl !== undefined && b.authUrl !== null) {
    const detail = `domain : ${s.domain} / auth : ${String(b.authUrl)}`
    if (typeof b.authUrl !== 'string' || !URL.canParse(b.authUrl)) throw v1Error(400, 'INVALID_AUTH_URL', { detail })
    if (![...s.trustedAuthUrls, s.defaultAuthUrl].some((t) => (b.authUrl as string).startsWith(t))) throw v1Error(400, 'UNTRUSTED_AUTH_URL', { detail })
    url = b.authUrl
  }
  if (b.deviceName !== undefined && b.deviceName !== null && typeof b.deviceName !== 'string') throw v1Error(400, 'INVALID_DEVICE_NAME', { detail: `deviceName : ${String(b.deviceName)}` })
  if (b.expireAfter !== undefined && b.expireAfter !== null && typeof b.expireAfter !== 'number') throw v1Error(400, 'INVALID_EXPIRE_AFTER', { detail: `expireAfter : ${String(b.expireAfter)}` })
  if (b.referer !== undefined && b.referer !== null && typeof b.referer !== 'string') throw v1Error(400, 'INVALID_REFERER', { detail: `referer : ${String(b.referer)}` })
  if (typeof b.backloopDevel === 'string') url = `https://sw.backloop.dev${b.backloopDevel}`

  const poll = `${String(s.serviceInfo.access)}${key}`
  const sep = url.includes('?') ? '&' : '?'
  const oauthState = typeof b.oauthState === 'string' ? b.oauthState : null
  let full = `${url}${sep}lang=${lang}&key=${key}&requestingAppId=${requestingAppId}`
  if (returnURL) full += `&returnURL=${encodeURIComponent(returnURL)}`
  full += `&domain=${s.domain}&registerURL=${encodeURIComponent(String(s.serviceInfo.register))}&poll=${encodeURIComponent(poll)}`
  if (oauthState !== null) full += `&oauthState=${oauthState}`
  const state: Record<string, unknown> = {
    status: 'NEED_SIGNIN',
    code: 201,
    key,
    requestingAppId,
    requestedPermissions: b.requestedPermissions,
    url: full,
    authUrl: `${url}${sep}&pollUrl=${encodeURIComponent(poll)}`,
    poll,
    returnURL: returnURL ?? null,
    oauthState,
    poll_rate_ms: 1000,
    lang
  }
  for (const k of ['clientData', 'serviceInfo', 'deviceName', 'expireAfter', 'referer'] as const) if (b[k] !== undefined) state[k] = b[k]
  return state
}

/** v1's `POST /access/:key` body: the request's next state (ACCEPTED 200, REFUSED or ERROR 403). */
export function checkAccessUpdate(b: Record<string, unknown>, s: RegistrySettings): Record<string, unknown> {
  switch (b.status) {
    case 'REFUSED':
      return { status: 'REFUSED', reasonID: b.reasonID ?? 'REASON_UNDEFINED', message: b.message ?? '', code: 403 }
    case 'ERROR':
      return { status: 'ERROR', id: b.id ?? 'INTERNAL_ERROR', message: b.message ?? '', detail: b.detail ?? '', code: 403 }
    case 'ACCEPTED': {
      let apiEndpoint: string | null = null
      if (b.apiEndpoint) {
        apiEndpoint = str(b.apiEndpoint, 6, 999)
        if (!apiEndpoint) throw v1Error(400, 'INVALID_API_ENDPOINT')
      }
      const username = typeof b.username === 'string' ? b.username.trim().toLowerCase() : ''
      if (!/^[a-z0-9][a-z0-9-]{3,58}[a-z0-9]$/.test(username)) throw v1Error(400, 'INVALID_USER_NAME')
      if (typeof b.token !== 'string' || b.token === '' || b.token.length >= 256) throw v1Error(400, 'INVALID_DATA')
      if (!apiEndpoint) {
        const base = String(s.serviceInfo.api).replace('{username}', username)
        apiEndpoint = base.replace('://', `://${b.token}@`)
      }
      return { status: 'ACCEPTED', apiEndpoint, username, token: b.token, code: 200 }
    }
    default:
      return { status: 'ERROR', id: b.id, message: `Unknown status code : ${String(b.status)}`, detail: '', code: 403 }
  }
}
