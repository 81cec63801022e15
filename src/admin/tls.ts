import { X509Certificate } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { join } from 'node:path'
import { selfSignedCertificate } from './x509.js'

export interface AdminCertificate {
  readonly cert: string
  readonly key: string
  /** SHA-256 fingerprint, as browsers show it */
  readonly fingerprint: string
}

const VALID_MS = 5 * 365 * 86_400_000

/**
 * The certificate the admin app is served with beyond loopback: a self-signed one kept in the data
 * dir (`admin/tls-cert.pem`, `admin/tls-key.pem`), made the first time it is needed. Operators check
 * its fingerprint (printed at start and by `status`) when their browser first meets it.
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
