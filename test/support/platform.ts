import { Resolver } from 'node:dns/promises'
import { callControl } from '../../src/control/client.js'
import { NodeProcess, tempDir } from './cli.js'

/** Mesh on loopback, no DNS server: many nodes share one machine. */
export const LOOPBACK = ['--listen', '127.0.0.1:0', '--dns', 'none']

/** A control-socket call to a node, as the CLI makes it. */
export const control = (node: NodeProcess, method: string, params: Record<string, unknown> = {}): Promise<unknown> =>
  callControl(`${node.dataDir}/control.sock`, method, params, 15_000)

/** The DNS users a node holds, as `dns users get` shows them. */
export const dnsUsers = async (node: NodeProcess): Promise<Record<string, string>> => ((await control(node, 'dns.users.get', {})) as { users: Record<string, string> }).users

/** The A addresses a node's DNS server (the first address of its ready line) answers for `name`, sorted. */
export async function resolveA(ready: Record<string, unknown>, name: string): Promise<string[]> {
  const resolver = new Resolver({ timeout: 2000, tries: 2 })
  resolver.setServers([(ready.dns as string[])[0]!])
  return (await resolver.resolve4(name)).sort()
}

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
