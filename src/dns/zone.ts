import type { Answer, FragmentAnswer, NameEntry } from './answers.js'
import { TYPE } from './constants.js'
import { ZoneSpecError } from './errors.js'
import { labelCount, wireKey } from './names.js'
import type { TargetState } from './weighted.js'
import type { ZoneSpec } from './zone-spec.js'

const USER_CLASSES = [TYPE.A, TYPE.AAAA, TYPE.CNAME, TYPE.ANY] as const
export const USERNAME = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/

/** What a compiled zone keeps of its compiler, to build user answers on demand. */
export interface UserAnswerBuilder {
  /** Answer for a user whose core is `core`; qtype is A, AAAA, CNAME, ANY or 0 (any other type). */
  userAnswer(core: string, qtype: number): Answer
  /** Interned absolute name of a core node name. */
  core(name: string): string
}

/**
 * The served form of a ZoneSpec: wire-format answers keyed by lower-case wire qname. Immutable
 * except for three cheap in-place updates: setUser(), setTargetHealth() and the lazily filled
 * cache of per-core user answers.
 */
export class CompiledZone {
  readonly apexKey: string
  readonly apexLabels: number
  /** Earliest ACME expiry still served (epoch ms), Infinity if none: recompile then. */
  readonly nextExpiryMs: number
  /** Users of the spec that were not valid single labels, and so are not served. */
  readonly skippedUsers: number
  /** core → answers by class: A, AAAA, CNAME, ANY, any other type. */
  private readonly userCache = new Map<string, (Answer | undefined)[]>()
  /** Zones of the alias domains, answered like this one (set by compileZone). */
  aliases: readonly CompiledZone[] = []
  /**
   * In an alias zone: the main zone's apex key. Its users map is the main zone's, keyed under the
   * main apex, so a user set in place is served under every alias at once.
   */
  userSuffix: string | null = null

  constructor(
    readonly spec: ZoneSpec,
    readonly compiledAtMs: number,
    readonly domain: string,
    readonly names: ReadonlyMap<string, NameEntry>,
    readonly nxdomain: FragmentAnswer,
    readonly nodata: FragmentAnswer,
    readonly users: Map<string, string>,
    readonly targets: ReadonlyMap<string, readonly TargetState[]>,
    private readonly builder: UserAnswerBuilder,
    nextExpiryMs: number,
    skippedUsers: number
  ) {
    this.apexKey = wireKey(domain)
    this.apexLabels = labelCount(domain)
    this.nextExpiryMs = nextExpiryMs
    this.skippedUsers = skippedUsers
  }

  /** The core of the user this lower-case wire name (one label under the apex) is, if any. */
  userCore(key: string): string | undefined {
    if (this.userSuffix === null) return this.users.get(key)
    return this.users.get(key.slice(0, key.length - this.apexKey.length) + this.userSuffix)
  }

  /** Answer for a user whose core is `core` (absolute name), built once per core and qtype. */
  userAnswer(core: string, qtype: number): Answer {
    const i = USER_CLASSES.indexOf(qtype as (typeof USER_CLASSES)[number])
    const slot = i < 0 ? USER_CLASSES.length : i
    let byClass = this.userCache.get(core)
    if (byClass === undefined) {
      byClass = []
      this.userCache.set(core, byClass)
    }
    let a = byClass[slot]
    if (a === undefined) {
      a = this.builder.userAnswer(core, i < 0 ? 0 : qtype)
      byClass[slot] = a
    }
    return a
  }

  /** Adds, moves (core = node name) or removes (core = null) one user: O(1), no recompile. */
  setUser(username: string, core: string | null): void {
    const u = username.toLowerCase()
    if (!USERNAME.test(u)) throw new ZoneSpecError(`invalid username '${username}'`)
    const key = wireKey(`${u}.${this.domain}`)
    if (core === null) this.users.delete(key)
    else this.users.set(key, this.builder.core(core))
  }

  /** Marks every target with this id (it may serve several names) up or down; false if unknown. */
  /** `null` clears the override: each name of the target gets back its own spec flag. */
  setTargetHealth(targetId: string, healthy: boolean | null): boolean {
    for (const alias of this.aliases) alias.setTargetHealth(targetId, healthy)
    const ts = this.targets.get(targetId)
    if (!ts) return false
    for (const t of ts) t.healthy = healthy ?? t.specHealthy
    return true
  }
}

