import type { ControlHandler } from '../control/server.js'
import type { Runtime } from '../runtime/runtime.js'
import type { NodeContext } from './context.js'

/**
 * The `services`, `logs` and `restart` operations, on this node and on every member through the mesh.
 * (Scaffold: filled in by the services work.)
 */
export class ServiceOps {
  constructor(
    private readonly ctx: NodeContext,
    /** This node's service runtime; undefined when the node runs no services (`--services none`). */
    private readonly runtime: () => Runtime | undefined
  ) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  /** Control-socket methods this part answers. */
  handlers(): Record<string, ControlHandler> {
    void this.ctx
    void this.runtime
    return {}
  }
}
