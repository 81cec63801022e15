import { ExitCode, type ExitCodeValue, OperatorError } from '../errors.js'

/**
 * Errors that reach an operator: a stable `code`, one line on what happened, and a `hint` that names
 * what fixes it. Code branches on `name` (or `code`), never on the message.
 */
/** How the CLI exits when a runtime error reaches it. */
const EXIT_CODES: Readonly<Record<string, ExitCodeValue>> = {
  PRYV_RUNTIME_ENGINE_DOWN: ExitCode.environment,
  PRYV_RUNTIME_ENGINE_ERROR: ExitCode.environment,
  PRYV_RUNTIME_PULL_FAILED: ExitCode.unreachable,
  PRYV_RUNTIME_IMAGE_MISSING: ExitCode.environment,
  PRYV_RUNTIME_UNHEALTHY: ExitCode.conflict,
  PRYV_RUNTIME_SERVICE_NOT_FOUND: ExitCode.invalidInput,
  PRYV_RUNTIME_NAME_CONFLICT: ExitCode.conflict,
  PRYV_RUNTIME_INVALID_SPEC: ExitCode.invalidInput,
  PRYV_RUNTIME_UNSUPPORTED: ExitCode.usage,
  PRYV_RUNTIME_START_FAILED: ExitCode.environment,
  PRYV_RUNTIME_TIMEOUT: ExitCode.unreachable
}

export abstract class RuntimeError extends OperatorError {
  declare readonly hint: string

  constructor(code: string, message: string, hint: string, options?: ErrorOptions) {
    super(code, message, { hint, exitCode: EXIT_CODES[code] ?? ExitCode.internal, cause: options?.cause })
  }
}

export class EngineDownError extends RuntimeError {
  constructor(socketPath: string, options?: ErrorOptions) {
    super(
      'PRYV_RUNTIME_ENGINE_DOWN',
      `the container engine does not answer at ${socketPath}`,
      "start it (systemctl start docker), point the node at its socket, or set runtime to 'process'",
      options
    )
    this.name = 'EngineDownError'
  }
}

export class EngineError extends RuntimeError {
  constructor(operation: string, detail: string, options?: ErrorOptions) {
    super('PRYV_RUNTIME_ENGINE_ERROR', `the container engine refused to ${operation}: ${detail}`, 'read the engine log (journalctl -u docker)', options)
    this.name = 'EngineError'
  }
}

export class PullFailedError extends RuntimeError {
  constructor(image: string, detail: string, options?: ErrorOptions) {
    super(
      'PRYV_RUNTIME_PULL_FAILED',
      `pulling ${image} failed: ${detail}`,
      'check the image name and tag, that this machine reaches the registry, and its credentials (docker login)',
      options
    )
    this.name = 'PullFailedError'
  }
}

export class ImageMissingError extends RuntimeError {
  constructor(image: string, options?: ErrorOptions) {
    super('PRYV_RUNTIME_IMAGE_MISSING', `image ${image} is not on this machine`, `pull it first (docker pull ${image})`, options)
    this.name = 'ImageMissingError'
  }
}

export class UnhealthyError extends RuntimeError {
  constructor(service: string, detail: string, options?: ErrorOptions) {
    super('PRYV_RUNTIME_UNHEALTHY', `service ${service} ${detail}`, `read its logs (pryv-node logs ${service}) and its health check settings`, options)
    this.name = 'UnhealthyError'
  }
}

export class ServiceNotFoundError extends RuntimeError {
  constructor(service: string) {
    super('PRYV_RUNTIME_SERVICE_NOT_FOUND', `service ${service} is not managed by this node`, 'check the service name in the platform settings')
    this.name = 'ServiceNotFoundError'
  }
}

export class NameConflictError extends RuntimeError {
  constructor(containerName: string, options?: ErrorOptions) {
    super(
      'PRYV_RUNTIME_NAME_CONFLICT',
      `a container named ${containerName} exists and is not managed by this node`,
      `rename or remove it (docker rm -f ${containerName}) if it is not needed; pryv-node never touches it`,
      options
    )
    this.name = 'NameConflictError'
  }
}

export class InvalidSpecError extends RuntimeError {
  constructor(service: string, detail: string) {
    super('PRYV_RUNTIME_INVALID_SPEC', `service ${service} cannot run: ${detail}`, 'fix the service definition in the platform settings')
    this.name = 'InvalidSpecError'
  }
}

export class UnsupportedError extends RuntimeError {
  constructor(runtime: string, operation: string) {
    super('PRYV_RUNTIME_UNSUPPORTED', `the ${runtime} runtime cannot ${operation}`, "install Docker and set runtime to 'docker' (or 'auto')")
    this.name = 'UnsupportedError'
  }
}

export class StartFailedError extends RuntimeError {
  constructor(service: string, detail: string, options?: ErrorOptions) {
    super('PRYV_RUNTIME_START_FAILED', `service ${service} did not start: ${detail}`, `check its command and working directory, then its logs (pryv-node logs ${service})`, options)
    this.name = 'StartFailedError'
  }
}

export class RuntimeTimeoutError extends RuntimeError {
  constructor(operation: string, options?: ErrorOptions) {
    super('PRYV_RUNTIME_TIMEOUT', `${operation} did not finish in time`, 'retry; if it keeps happening, check the machine load and the engine', options)
    this.name = 'RuntimeTimeoutError'
  }
}
