/** A ZoneSpec that cannot be served: the server keeps its previous zone. */
export class ZoneSpecError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'ZoneSpecError'
  }
}

/** A listener could not be started (bad address, port in use, …). */
export class DnsListenError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = 'DnsListenError'
  }
}
