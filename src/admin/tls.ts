import { X509Certificate } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import type { CertificateRecord } from '../certs/records.js'
import { covers, dnsNames, splitChain } from '../certs/x509.js'
import { selfSignedCertificate } from './x509.js'

export interface AdminCertificate {
  readonly cert: string
  readonly key: string
  /** SHA-256 fingerprint, as browsers show it */
  readonly fingerprint: string
}

/** The certificate the admin server serves, as `status` and the start-up log describe it (no key). */
export interface ServedCertificate {
  /** `platform`: the platform's certificate (ACME or imported); `self-signed`: the node's own. */
  readonly source: 'platform' | 'self-signed'
  readonly subject: string
  readonly names: readonly string[]
  readonly serial: string
  readonly notAfter: string
  readonly fingerprint: string
}

const VALID_MS = 5 * 365 * 86_400_000

/**
 * The certificate the admin app is served with beyond loopback when the platform has none for this
 * node's name: a self-signed one kept in the data dir (`admin/tls-cert.pem`, `admin/tls-key.pem`),
 * made the first time it is needed. Operators check its fingerprint (printed at start and by
 * `status`) when their browser first meets it.
 */
export async function adminCertificate(dataDir: string, nodeName: string, domain: string): Promise<AdminCertificate> {
  const dir = join(dataDir, 'admin')
  const certPath = join(dir, 'tls-cert.pem')
  const keyPath = join(dir, 'tls-key.pem')
  try {
    const [cert, key] = await Promise.all([fs.readFile(certPath, 'utf8'), fs.readFile(keyPath, 'utf8')])
    return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256 }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const name = `${nodeName}.${domain}`
  const now = Date.now()
  const { cert, key } = selfSignedCertificate(name, [name, 'localhost'], new Date(now - 3_600_000), new Date(now + VALID_MS))
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  await fs.writeFile(keyPath, key, { mode: 0o600 })
  await fs.writeFile(certPath, cert, { mode: 0o644 })
  return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256 }
}

/**
 * Whether the platform's certificate can serve the admin app at `host` (the node's own name,
 * `<node>.<domain>`): it names the host (a wildcard covers one label) and is valid at `now`.
 */
export function platformCertificateServes(cert: CertificateRecord | undefined, host: string, now: number): cert is CertificateRecord {
  return cert !== undefined && cert.notBefore <= now && now < cert.notAfter && cert.names.some((n) => covers(n, host.toLowerCase()))
}

/** What is served, for `status` and the log: the leaf of `chainPem`. */
export function describeServed(source: ServedCertificate['source'], chainPem: string): ServedCertificate {
  const leaf = new X509Certificate(splitChain(chainPem)[0] ?? chainPem)
  return { source, subject: leaf.subject.replace(/\n/g, ', '), names: dnsNames(leaf), serial: leaf.serialNumber, notAfter: new Date(leaf.validTo).toISOString(), fingerprint: leaf.fingerprint256 }
}
