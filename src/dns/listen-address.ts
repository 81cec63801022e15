export interface ListenAddress {
  host: string
  /** 0 = any free port; the bound port is returned by start(). */
  port: number
}

/** Splits `host:port` or `[v6]:port` as the node writes its addresses (not operator input: no validation). */
export function splitHostPort(text: string): ListenAddress {
  const at = text.lastIndexOf(':')
  return { host: text.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(text.slice(at + 1)) }
}

export function joinHostPort(a: ListenAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}
