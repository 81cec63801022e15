import type { Command } from 'commander'
import type { PlatformNode } from '../../node/platform-node.js'
import { formatRegisterAddress, parseRegisterListen } from '../../registry/listen.js'

/** `--register host:port`: the node serves Pryv's register API there (loopback only; checked before anything starts). */
export function addRegisterOption(cmd: Command): Command {
  return cmd.option('--register <host:port>', 'serve the user registry\'s HTTP API (Pryv\'s register: reg.<domain>, access.<domain>) on this loopback address, e.g. 127.0.0.1:9000', (text: string) => formatRegisterAddress(parseRegisterListen(text)))
}

/** In --json ready events: where the register API is served, when it is. */
export function registerEvent(node: PlatformNode): { register?: string } {
  return node.registry.bound === undefined ? {} : { register: node.registry.bound }
}
