import { X509Certificate, webcrypto } from 'node:crypto'
import { promises as fs } from 'node:fs'
import { join } from 'node:path'

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
  const { cert, key } = await selfSigned(`${nodeName}.${domain}`)
  await fs.mkdir(dir, { recursive: true, mode: 0o700 })
  await fs.writeFile(keyPath, key, { mode: 0o600 })
  await fs.writeFile(certPath, cert, { mode: 0o644 })
  return { cert, key, fingerprint: new X509Certificate(cert).fingerprint256 }
}

async function selfSigned(name: string): Promise<{ cert: string, key: string }> {
  // Loaded only on nodes that serve the app beyond loopback.
  const x509 = await import('@peculiar/x509')
  x509.cryptoProvider.set(webcrypto as Crypto)
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']) as CryptoKeyPair
  const now = Date.now()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${name}`,
    notBefore: new Date(now - 3_600_000),
    notAfter: new Date(now + VALID_MS),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }, { type: 'dns', value: 'localhost' }]),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])
    ]
  })
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey))
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`
  return { cert: cert.toString('pem'), key }
}
