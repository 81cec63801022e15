import { callControl } from '../../src/control/client.js'
import { NodeProcess, tempDir } from './cli.js'

/** Mesh on loopback, no DNS server: many nodes share one machine. */
export const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']

/** A control-socket call to a node, as the CLI makes it. */
export const control = (node: NodeProcess, method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
  callControl(`${node.dataDir}/control.sock`, method, params, 15_000)

/**
 * A platform of separate node processes: `core1` founds it, then each joiner joins with an invite of
 * its role made by the founder, one at a time, each ready before the next. Every process goes into
 * `nodes` as it starts, so the caller's afterAll stops them even when a start fails.
 */
export async function startPlatform(nodes: NodeProcess[], joiners: ReadonlyArray<readonly [name: string, role: 'full' | 'observer']>, args: readonly string[] = LOOPBACK): Promise<void> {
  const founder = NodeProcess.start(tempDir(), ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...args])
  nodes.push(founder)
  await founder.ready()
  for (const [name, role] of joiners) {
    const { invite } = await control(founder, 'invite.create', { role }) as { invite: string }
    const node = NodeProcess.start(tempDir(), ['join-platform', invite, '--name', name, ...args])
    nodes.push(node)
    await node.ready()
  }
}
