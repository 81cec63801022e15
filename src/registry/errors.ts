/**
 * The register API's error bodies, as v1 (pryv/service-register) answers them: `{id, message, detail,
 * errors[]}` for its own errors, built fresh for every request (v1 shared one object across requests).
 */

const MESSAGES: Record<string, { message: string, detail: string }> = {
  INTERNAL_ERROR: { message: 'Internal Error', detail: 'Something went bad on our side, sorry for this inconvenience.' },
  INVALID_PARAMETERS: { message: 'Invalid parameters', detail: '' },
  INVALID_DATA: { message: 'Invalid Data', detail: 'Some of the data transmited is invalid.' },
  INVALID_USER_NAME: { message: 'Invalid user name', detail: 'User name must be made of 5 to 60 alphanumeric characters (- authorized).' },
  INVALID_API_ENDPOINT: { message: 'Invalid api endpoint', detail: 'api endpoint should be a valid url' },
  RESERVED_USER_NAME: { message: 'Reserved user name', detail: 'User name is reserved.' },
  EXISTING_USER_NAME: { message: 'Username already exists', detail: 'User name must be unique.' },
  EXISTING_EMAIL: { message: 'E-mail already exists', detail: 'This e-mail is already assigned to a user.' },
  INVALID_INVITATION: { message: 'Invalid invitation token', detail: 'Request one from pryv' },
  INVALID_HOSTING: { message: 'Invalid hosting', detail: 'Hosting value must be made of 4 to 70 alphanumeric characters (- and . authorized).' },
  UNAVAILABLE_HOSTING: { message: 'Hosting not available', detail: 'Hosting unknown, not active or unavailable, retry with another one' },
  INVALID_LANGUAGE: { message: 'Invalid language code', detail: 'Language code should be a string of 1-5 characters.' },
  INVALID_EMAIL: { message: 'Invalid email address', detail: 'E-mail address format not recognized' },
  UNKNOWN_USER_NAME: { message: 'Unknown user name', detail: '' },
  UNKNOWN_EMAIL: { message: 'Unknown e-mail', detail: '' },
  INVALID_KEY: { message: 'Invalid access request key', detail: '' },
  INVALID_APP_ID: { message: 'Invalid app ID', detail: '' },
  UNTRUSTED_AUTH_URL: { message: 'Authentication URL should be on the same domain', detail: '' },
  INVALID_AUTH_URL: { message: 'Authentication URL is invalid', detail: '' },
  INVALID_SERVICE_INFO_URL: { message: 'Service information URL is invalid', detail: '' },
  INVALID_DEVICE_NAME: { message: 'Device name is invalid', detail: '' },
  INVALID_EXPIRE_AFTER: { message: 'ExpireAfter is invalid', detail: '' },
  INVALID_REFERER: { message: 'referer is invalid', detail: '' },
  DISABLED_METHOD: { message: 'The action you are trying to execute has been disabled. Please contact the platform admin to activate it.', detail: '' }
}

export type MessageId = keyof typeof MESSAGES & string

/** An answer that ends a request with a status and a JSON body. */
export class RegisterError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(typeof body === 'object' && body !== null && 'id' in body ? String((body as { id: unknown }).id) : `HTTP ${status}`)
  }
}

/** v1's `messages.e(status, id, addons)`. */
export function v1Error(status: number, id: MessageId, addons: Record<string, unknown> = {}): RegisterError {
  const m = MESSAGES[id]!
  return new RegisterError(status, { id, message: m.message, detail: m.detail, errors: [], ...addons })
}

/** v1's `messages.ex(status, id, [sub ids])`: one error with its causes. */
export function v1Errors(status: number, id: MessageId, causes: MessageId[]): RegisterError {
  const m = MESSAGES[id]!
  return new RegisterError(status, { id, message: m.message, detail: m.detail, errors: causes.map((c) => ({ id: c, ...MESSAGES[c]!, errors: [] })) })
}

/** A plain `{id, message}` error (v1's auth middleware and deletion route). */
export function plainError(status: number, id: string, message: string): RegisterError {
  return new RegisterError(status, { id, message })
}
