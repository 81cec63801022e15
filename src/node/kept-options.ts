/**
 * The options a node was last run with (services backend, engine socket, listen addresses…), kept in
 * its data dir so that a plain `pryv-node start` after a reboot runs the node as it ran before. An
 * option given again replaces the kept one. Values are kept as the CLI parsed them.
 */
export type KeptOptions = Readonly<Record<string, unknown>>

/** One option that a start changes against what was kept. */
export interface OptionChange {
  readonly option: string
  /** undefined: the option was not kept before. */
  readonly from: unknown
  readonly to: unknown
}

/** The options to run with: the kept ones, replaced by those given now (undefined = not given). */
export function mergeKeptOptions(kept: KeptOptions, given: KeptOptions): { options: KeptOptions, changes: OptionChange[] } {
  const options: Record<string, unknown> = { ...kept }
  const changes: OptionChange[] = []
  for (const [option, value] of Object.entries(given)) {
    if (value === undefined) continue
    if (JSON.stringify(kept[option]) !== JSON.stringify(value)) changes.push({ option, from: kept[option], to: value })
    options[option] = value
  }
  return { options, changes }
}
