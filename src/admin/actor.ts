import { AsyncLocalStorage } from 'node:async_hooks'

/**
 * Who makes the writes of the operation running now: the admin API runs each operation as its
 * account or token, so the commands it submits carry an `actor` for the audit trail. The control
 * socket (local root) runs without one.
 */
const actors = new AsyncLocalStorage<string>()

export function runAs<T>(actor: string, fn: () => T): T {
  return actors.run(actor, fn)
}

export function currentActor(): string | undefined {
  return actors.getStore()
}
