import { isBenignLibp2pRace } from '../mesh/library-races.js'
import type { RunningNode } from '../node/lifecycle.js'
import type { Io } from './io.js'

const SAME_SIGNAL_MS = 1000

/** Lets the node itself end the foreground run (it left the platform, or hit a fatal failure). */
export interface ForegroundExit {
  end?: (exitCode: number) => void
}

/**
 * Keeps a node running in the foreground (systemd-friendly) until SIGTERM or SIGINT, or until the
 * node ends the run, then stops it gracefully. A second signal during shutdown, a second or more
 * after the first, exits at once.
 */
export async function runUntilSignalled(running: RunningNode, io: Io, exit: ForegroundExit = {}): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false
    const finish = (code: number): void => {
      if (stopping) return
      stopping = true
      running.stop().then(() => {
        process.off('SIGTERM', onSignal)
        process.off('SIGINT', onSignal)
        process.off('uncaughtException', onUncaught)
        process.off('unhandledRejection', onUncaught)
        resolve(code)
      }, (err) => {
        io.err(`shutdown failed: ${(err as Error).message}`)
        resolve(1)
      })
    }
    let firstSignalAt = 0
    const onSignal = (signal: NodeJS.Signals): void => {
      // Ctrl-C under `npm start` delivers SIGINT twice (the terminal's, and npm's forwarded one):
      // a repeat within a second is the same request to stop.
      if (stopping && Date.now() - firstSignalAt < SAME_SIGNAL_MS) return
      firstSignalAt ||= Date.now()
      if (stopping) {
        io.err(`${signal} again: exiting without a clean shutdown`)
        process.exit(1)
      }
      finish(0)
    }
    // Anything thrown outside our own calls is a bug, except libp2p's known race: exit 70 so that a
    // supervisor restarts the node from disk.
    const onUncaught = (err: unknown): void => {
      if (isBenignLibp2pRace(err)) return
      if (isStorageFailure(err)) {
        // An expected failure (full disk, failing device): say what to do, no stack.
        io.err(`error PRYV_STORAGE_FAILED: the node's database cannot be written, stopping: ${(err as Error).message}`)
        io.err('  hint: check the free space and permissions of the data dir, then start the node again (`pryv-node start`); nothing committed is lost.')
      } else {
        io.err(`error PRYV_NODE_FATAL: unexpected failure, stopping: ${(err as Error)?.stack ?? String(err)}`)
      }
      process.exitCode = 70
      finish(70)
    }
    exit.end = finish
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUncaught)
  })
}

/** LevelDB reports I/O failures (ENOSPC, EIO…) and corruption with these codes, on the error or its cause. */
function isStorageFailure(err: unknown): boolean {
  for (let e = err as { code?: unknown, cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === 'LEVEL_IO_ERROR' || e.code === 'LEVEL_CORRUPTION') return true
  }
  return false
}
