import Dockerode from 'dockerode'
import { DEFAULT_DOCKER_SOCKET, DETECT_TIMEOUT_MS } from './constants.js'
import { type DockerRuntimeInit, dockerRuntime } from './docker.js'
import { type ProcessRuntimeInit, processRuntime } from './process.js'
import { EngineDownError } from './errors.js'
import type { Runtime } from './runtime.js'

export interface DetectInit extends Omit<DockerRuntimeInit, 'socketPath'>, ProcessRuntimeInit {
  /** Engine socket to try; defaults to /var/run/docker.sock. */
  readonly socketPath?: string
  /** `auto` (default): docker when the engine answers `/_ping`, else process. `docker` fails if it does not. */
  readonly runtime?: 'auto' | 'docker' | 'process'
  readonly timeoutMs?: number
}

/** Picks the backend: docker if the Engine API answers at the socket, else child processes. */
export async function detectRuntime(init: DetectInit): Promise<Runtime> {
  const choice = init.runtime ?? 'auto'
  if (choice === 'process') return processRuntime(init)
  const socketPath = init.socketPath ?? DEFAULT_DOCKER_SOCKET
  try {
    await pingEngine(socketPath, init.timeoutMs ?? DETECT_TIMEOUT_MS)
    return dockerRuntime({ ...init, socketPath })
  } catch (error) {
    if (choice === 'docker') throw error
    return processRuntime(init)
  }
}

/** Resolves when the engine answers `/_ping` in time; throws EngineDownError otherwise. */
export async function pingEngine(socketPath: string, timeoutMs: number = DETECT_TIMEOUT_MS): Promise<void> {
  const docker = new Dockerode({ socketPath })
  // The typings lack ping's options argument, which carries the abort signal.
  const ping = docker.ping as unknown as (options: { abortSignal: AbortSignal }) => Promise<unknown>
  try {
    await ping.call(docker, { abortSignal: AbortSignal.timeout(timeoutMs) })
  } catch (error) {
    throw new EngineDownError(socketPath, { cause: error })
  }
}
