import type { ControlHandler } from '../control/server.js'
import type { PlatformNode } from '../node/platform-node.js'

/**
 * The node's metrics: the control-socket method `metrics` and, when asked, an HTTP endpoint on a
 * loopback address. (Scaffold: filled in by the metrics work.)
 */
export class NodeMetrics {
  constructor(
    private readonly node: PlatformNode,
    /** `host:port` to serve `/metrics` on; none when undefined. */
    private readonly listen: string | undefined
  ) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  handlers(): Record<string, ControlHandler> {
    void this.node
    void this.listen
    return {}
  }
}
