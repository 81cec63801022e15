import type { RunningNode } from '../node/lifecycle.js'
import type { Io } from './io.js'

/**
 * Keeps a node running in the foreground (systemd-friendly) until SIGTERM or SIGINT, then stops it
 * gracefully. A second signal during shutdown exits at once.
 */
export async function runUntilSignalled(running: RunningNode, io: Io): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        io.err(`${signal} again: exiting without a clean shutdown`)
        process.exit(1)
      }
      stopping = true
      running.stop().then(() => {
        process.off('SIGTERM', onSignal)
        process.off('SIGINT', onSignal)
        resolve(0)
      }, (err) => {
        io.err(`shutdown failed: ${(err as Error).message}`)
        resolve(1)
      })
    }
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  })
}
