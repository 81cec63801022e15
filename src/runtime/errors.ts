/**
 * Errors that reach an operator: a stable `code`, one line on what happened, and a `hint` that names
 * what fixes it. Code branches on `name` (or `code`), never on the message.
 */
export abstract class RuntimeError extends Error {
  abstract readonly code: string
  readonly hint: string

  constructor(message: string, hint: string, options?: ErrorOptions) {
    super(message, options)
    this.hint = hint
  }
}

export class EngineDownError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_ENGINE_DOWN'

  constructor(socketPath: string, options?: ErrorOptions) {
    super(
      `the container engine does not answer at ${socketPath}`,
      "start it (systemctl start docker), point the node at its socket, or set runtime to 'process'",
      options
    )
    this.name = 'EngineDownError'
  }
}

export class EngineError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_ENGINE_ERROR'

  constructor(operation: string, detail: string, options?: ErrorOptions) {
    super(`the container engine refused to ${operation}: ${detail}`, 'read the engine log (journalctl -u docker)', options)
    this.name = 'EngineError'
  }
}

export class PullFailedError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_PULL_FAILED'

  constructor(image: string, detail: string, options?: ErrorOptions) {
    super(
      `pulling ${image} failed: ${detail}`,
      'check the image name and tag, that this machine reaches the registry, and its credentials (docker login)',
      options
    )
    this.name = 'PullFailedError'
  }
}

export class ImageMissingError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_IMAGE_MISSING'

  constructor(image: string, options?: ErrorOptions) {
    super(`image ${image} is not on this machine`, `pull it first (docker pull ${image})`, options)
    this.name = 'ImageMissingError'
  }
}

export class UnhealthyError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_UNHEALTHY'

  constructor(service: string, detail: string, options?: ErrorOptions) {
    super(`service ${service} ${detail}`, `read its logs (pryv-node logs ${service}) and its health check settings`, options)
    this.name = 'UnhealthyError'
  }
}

export class ServiceNotFoundError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_SERVICE_NOT_FOUND'

  constructor(service: string) {
    super(`service ${service} is not managed by this node`, 'check the service name in the platform settings')
    this.name = 'ServiceNotFoundError'
  }
}

export class NameConflictError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_NAME_CONFLICT'

  constructor(containerName: string, options?: ErrorOptions) {
    super(
      `a container named ${containerName} exists and is not managed by this node`,
      `rename or remove it (docker rm -f ${containerName}) if it is not needed; pryv-node never touches it`,
      options
    )
    this.name = 'NameConflictError'
  }
}

export class InvalidSpecError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_INVALID_SPEC'

  constructor(service: string, detail: string) {
    super(`service ${service} cannot run: ${detail}`, 'fix the service definition in the platform settings')
    this.name = 'InvalidSpecError'
  }
}

export class UnsupportedError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_UNSUPPORTED'

  constructor(runtime: string, operation: string) {
    super(`the ${runtime} runtime cannot ${operation}`, "install Docker and set runtime to 'docker' (or 'auto')")
    this.name = 'UnsupportedError'
  }
}

export class StartFailedError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_START_FAILED'

  constructor(service: string, detail: string, options?: ErrorOptions) {
    super(`service ${service} did not start: ${detail}`, `check its command and working directory, then its logs (pryv-node logs ${service})`, options)
    this.name = 'StartFailedError'
  }
}

export class RuntimeTimeoutError extends RuntimeError {
  readonly code = 'PRYV_RUNTIME_TIMEOUT'

  constructor(operation: string, options?: ErrorOptions) {
    super(`${operation} did not finish in time`, 'retry; if it keeps happening, check the machine load and the engine', options)
    this.name = 'RuntimeTimeoutError'
  }
}
