export interface ListenAddress {
  host: string
  /** 0 = any free port; the bound port is returned by start(). */
  port: number
}
