import { OPERATION_PERMISSIONS } from './permissions.js'

/**
 * The API's OpenAPI document, generated from the operations the node serves and the permission
 * table: every operation is `POST /api/v1/ops/{name}` with its parameters as a JSON object (the
 * same as the control socket's), answering `{ result }`, an event stream for long-running work, or
 * `{ error: { code, message, hint } }` as the CLI prints them.
 */
export function openApiDocument(operations: readonly string[]): Record<string, unknown> {
  const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })
  const paths: Record<string, unknown> = {
    '/api/v1/login': { post: { summary: 'Log in with an account name and password: sets the session cookie and returns the CSRF token', security: [], responses: { 200: { description: 'logged in' }, 401: errorResponse('wrong account name or password (the same answer for an unknown account)'), 429: errorResponse('too many failed logins') } } },
    '/api/v1/login/link': { post: { summary: 'Log in once with a login link from `pryv-node admin login-link`', security: [], responses: { 200: { description: 'logged in' }, 401: errorResponse('unknown, used or expired link') } } },
    '/api/v1/session': { get: { summary: 'The caller: account or token, role, and the CSRF token of the session', responses: { 200: { description: 'the session' } } } },
    '/api/v1/logout': { post: { summary: 'Ends every session of the account, on every node', responses: { 200: { description: 'logged out' } } } },
    '/api/v1/password': { post: { summary: 'Changes the account\'s own password ({ current, password }); ends its other sessions', responses: { 200: { description: 'changed' }, 400: errorResponse('weak or wrong password') } } },
    '/api/v1/registry/users': {
      get: {
        summary: 'The platform\'s users (the registry) in username order, one page at a time: ?q= (part of the username or email), ?core=, ?after= (the `next` of the page before), ?limit= (1 to 500, 50 by default); answers { users, total, next } (role: viewer)',
        'x-pryv-role': 'viewer',
        responses: { 200: { description: '{ users: [{ username, core, fields, unique, registeredAt }], total, next? }' }, 400: errorResponse('a limit out of range') }
      }
    },
    '/api/v1/releases/upload': {
      post: {
        summary: 'Uploads a release bundle (.tgz, at most 64 MiB) and dry-runs (?dryRun=true) or applies it (?message=…) as `release apply` does (role: owner)',
        'x-pryv-role': 'owner',
        requestBody: { content: { 'application/gzip': { schema: { type: 'string', format: 'binary' } } } },
        responses: { 200: { description: 'a text/event-stream of `item` events (pull progress, then the result) ending with `end` or `error`' }, 403: errorResponse('not an owner, or the CSRF token is missing'), 413: errorResponse('the bundle is too large') }
      }
    }
  }
  for (const name of [...operations].sort()) {
    const permission = OPERATION_PERMISSIONS[name]
    if (permission === undefined) continue
    const role = typeof permission === 'function' ? `${permission({})} (owner with reveal)` : permission
    paths[`/api/v1/ops/${name}`] = {
      post: {
        operationId: name,
        summary: `${name} (role: ${role})`,
        'x-pryv-role': role,
        requestBody: { content: { 'application/json': { schema: { type: 'object', additionalProperties: true } } } },
        responses: {
          200: { description: '`{ result }`, or for long-running work a text/event-stream of `item` events ending with `end` or `error`' },
          400: errorResponse('invalid parameters'),
          401: errorResponse('no session or token'),
          403: errorResponse('the role does not allow it, or the CSRF token is missing'),
          409: errorResponse('conflicts with the platform\'s state'),
          503: errorResponse('the writer set cannot be reached')
        }
      }
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'pryv-node admin API', version: '1' },
    components: {
      securitySchemes: {
        session: { type: 'apiKey', in: 'cookie', name: 'pryv_admin', description: 'with the X-CSRF-Token header on POST' },
        token: { type: 'http', scheme: 'bearer', description: 'an API token from `pryv-node admin tokens create`' }
      },
      schemas: { Error: { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' } }, required: ['code', 'message'] } } } }
    },
    security: [{ session: [] }, { token: [] }],
    paths
  }
}
