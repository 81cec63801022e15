import { Counter, Gauge, type Registry } from 'prom-client'

/** What the platform's certificate looks like from this node, read at scrape time. */
export interface CertsSnapshot {
  readonly names: readonly string[]
  /** Milliseconds since the epoch; null before the platform has a certificate. */
  readonly notAfter: number | null
  readonly orders: number
  readonly issued: number
  readonly failed: number
}

/** pryv_certs_*: the certificate's expiry per name and the platform's renewal counters (from the replicated state). */
export function registerCertsMetrics(registry: Registry, read: () => CertsSnapshot, now: () => number): void {
  const registers = [registry]
  new Gauge({
    name: 'pryv_certs_expiry_seconds',
    help: 'Seconds until the platform certificate expires, by name it covers (negative once expired).',
    labelNames: ['name'],
    registers,
    collect() {
      this.reset()
      const s = read()
      if (s.notAfter !== null) for (const name of s.names) this.set({ name }, Math.round((s.notAfter - now()) / 1000))
    }
  })
  const counter = (name: string, help: string, value: (s: CertsSnapshot) => number): void => {
    new Counter({
      name, help, registers,
      collect() {
        this.reset()
        this.inc(value(read()))
      }
    })
  }
  counter('pryv_certs_orders_total', 'Certificate orders the platform placed with its ACME server.', (s) => s.orders)
  counter('pryv_certs_issued_total', 'Certificates the platform obtained.', (s) => s.issued)
  counter('pryv_certs_renewal_failures_total', 'Failed attempts to obtain the platform certificate.', (s) => s.failed)
}
