import type { AdminRole } from '../state/types.js'

/**
 * The role each operation of the node's table needs over the admin API: viewer reads everything but
 * secrets; operator changes settings, DNS data, invites and restarts services; owner manages
 * members, releases, admin accounts and reveals secrets. An operation that is not listed here is
 * not served over HTTP (for example `leave`, which only the machine's own operator may run), so an
 * operation added to the table stays local until someone decides who may call it.
 */
export type Permission = AdminRole | ((params: Record<string, unknown>) => AdminRole)

export const OPERATION_PERMISSIONS: Readonly<Record<string, Permission>> = {
  status: 'viewer',
  metrics: 'viewer',
  'invite.list': 'viewer',
  'invite.create': 'operator',
  'invite.revoke': 'operator',
  'members.role': 'owner',
  'members.remove': 'owner',
  'dns.users.get': 'viewer',
  'dns.users.set': 'operator',
  'dns.users.remove': 'operator',
  'dns.counters': 'viewer',
  'acme.set': 'operator',
  'acme.remove': 'operator',
  'settings.get': (p) => (p.reveal === true ? 'owner' : 'viewer'),
  'settings.schema': 'viewer',
  'settings.history': 'viewer',
  'settings.diff': 'viewer',
  'settings.change': 'operator',
  'settings.rollback': 'operator',
  'services.list': 'viewer',
  'services.logs': 'viewer',
  'services.restart': 'operator',
  'services.restartAll': 'operator',
  'release.status': 'viewer',
  'release.rollback': 'owner',
  'admin.audit': 'viewer',
  'admin.users.list': 'owner',
  'admin.users.add': 'owner',
  'admin.users.set': 'owner',
  'admin.users.remove': 'owner',
  'admin.tokens.list': 'owner',
  'admin.tokens.create': 'owner',
  'admin.tokens.revoke': 'owner',
  'admin.login-link': 'owner'
}

const RANK: Record<AdminRole, number> = { viewer: 0, operator: 1, owner: 2 }

export function roleAllows(role: AdminRole, needed: AdminRole): boolean {
  return RANK[role] >= RANK[needed]
}

/** The role `method` needs with these params; undefined when it is not served over HTTP. */
export function requiredRole(method: string, params: Record<string, unknown>): AdminRole | undefined {
  const p = Object.hasOwn(OPERATION_PERMISSIONS, method) ? OPERATION_PERMISSIONS[method] : undefined
  return typeof p === 'function' ? p(params) : p
}
