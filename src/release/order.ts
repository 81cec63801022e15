import type { ReleaseService } from './types.js'

export interface DependencyOrder {
  /**
   * Every service after the ones it depends on: by depth (services that depend on nothing first,
   * then those that depend only on them, …), then by name.
   */
  readonly order: readonly string[]
  /** The first cycle found, as a path that ends where it starts (`a → b → a`); absent when there is none. */
  readonly cycle?: readonly string[]
}

/** Start order of a release's services. Dependencies on unknown services are ignored (the loader reports them). */
export function dependencyOrder(services: readonly ReleaseService[]): DependencyOrder {
  const deps = new Map(services.map((s) => [s.name, [...(s.dependsOn ?? [])].sort()]))
  const depth = new Map<string, number>()
  const path: string[] = []
  let cycle: string[] | undefined
  const visit = (name: string): number => {
    const known = depth.get(name)
    if (known !== undefined) return known
    const at = path.indexOf(name)
    if (at >= 0) {
      cycle ??= [...path.slice(at), name]
      return 0
    }
    path.push(name)
    const d = Math.max(-1, ...deps.get(name)!.filter((dep) => deps.has(dep)).map(visit)) + 1
    path.pop()
    depth.set(name, d)
    return d
  }
  const names = [...deps.keys()].sort()
  for (const name of names) visit(name)
  const order = names.sort((a, b) => depth.get(a)! - depth.get(b)! || (a < b ? -1 : 1))
  return cycle ? { order, cycle } : { order }
}
