import { DEFAULT_DOCKER_SOCKET, DETECT_TIMEOUT_MS } from './constants.js'
import type { DockerRuntimeInit } from './docker.js'
import { type ProcessRuntimeInit, processRuntime } from './process.js'
import { EngineDownError } from './errors.js'
import { http } from '../http-server.js'
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
    // Loaded only when an engine answers: dockerode costs ~30 MB that a process-only node need not carry.
    const { dockerRuntime } = await import('./docker.js')
    return dockerRuntime({ ...init, socketPath })
  } catch (error) {
    if (choice === 'docker') throw error
    return processRuntime(init)
  }
}

/** Resolves when the engine answers `/_ping` in time; throws EngineDownError otherwise. */
export async function pingEngine(socketPath: string, timeoutMs: number = DETECT_TIMEOUT_MS): Promise<void> {
  // A plain HTTP request over the socket: no engine client is loaded to find out there is no engine.
  try {
    await new Promise<void>((resolve, reject) => {
      const req = http.request({ socketPath, path: '/_ping', signal: AbortSignal.timeout(timeoutMs) }, (res) => {
        res.resume()
        if (res.statusCode === 200) resolve()
        else reject(new Error(`/_ping answered ${res.statusCode}`))
      })
      req.on('error', reject)
      req.end()
    })
  } catch (error) {
    throw new EngineDownError(socketPath, { cause: error })
  }
}
