import type { Command } from 'commander'
import { callControl, type StreamControlOptions, streamControl } from '../control/client.js'
import { DataDir, dataDirIsAFile } from '../node/data-dir.js'
import type { Io } from './io.js'

export interface GlobalOpts {
  readonly dataDir: string
  readonly logLevel: string
}

/** What every command module gets: where to write, the global options, and the local node. */
export interface CliContext {
  readonly io: Io
  readonly program: Command
  globals(): GlobalOpts
  /** Calls a method of the local node through its control socket. */
  control(method: string, params?: Record<string, unknown>): Promise<unknown>
  /** Calls a method that streams its reply (logs, pull progress): yields each item. */
  controlStream(method: string, params?: Record<string, unknown>, options?: StreamControlOptions): AsyncGenerator<unknown, void, undefined>
  /** Sets the exit code of a command that does not fail but has a non-zero outcome. */
  setExitCode(code: number): void
}

export function createContext(program: Command, io: Io, setExitCode: (code: number) => void): CliContext {
  const globals = (): GlobalOpts => program.opts<GlobalOpts>()
  return {
    io,
    program,
    globals,
    control: (method, params = {}) => callControl(new DataDir(globals().dataDir).controlSocket, method, params).catch(explainSocketError(globals().dataDir)),
    controlStream: (method, params = {}, options = {}) => streamControl(new DataDir(globals().dataDir).controlSocket, method, params, options),
    setExitCode
  }
}

/** The control socket's path goes through a file: the data dir given is one. */
function explainSocketError(dataDir: string): (err: unknown) => never {
  return (err) => {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw dataDirIsAFile(new DataDir(dataDir).path)
    throw err
  }
}
