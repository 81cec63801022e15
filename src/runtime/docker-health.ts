import { finished } from 'node:stream/promises'
import type Dockerode from 'dockerode'
import { type CommandRunner, HealthMonitor, type RunInfo } from './health.js'
import type { HealthCheck } from './runtime.js'

/** A health monitor for one container, looked up by name on every round (it may be recreated). */
export function containerHealthMonitor(docker: Dockerode, containerName: string, check: HealthCheck): HealthMonitor {
  const container = (): Dockerode.Container => docker.getContainer(containerName)
  const currentRun = async (signal: AbortSignal): Promise<RunInfo> => {
    const { State } = await container().inspect({ abortSignal: signal })
    return { running: State.Running, startedAt: new Date(State.StartedAt) }
  }
  const runCommand: CommandRunner = async (probe, signal) => {
    const cmd = [probe.command, ...(probe.args ?? [])]
    const exec = await container().exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, abortSignal: signal } as Dockerode.ExecCreateOptions)
    // Attached, not detached: podman reports a detached exec as running forever.
    const stream = await exec.start({ hijack: true, stdin: false, abortSignal: signal } as Dockerode.ExecStartOptions)
    try {
      stream.resume()
      await finished(stream, { readable: true, writable: false, signal })
    } finally {
      stream.destroy()
    }
    const info = await exec.inspect({ abortSignal: signal } as object)
    return !info.Running && info.ExitCode === 0
  }
  return new HealthMonitor(check, currentRun, runCommand)
}
