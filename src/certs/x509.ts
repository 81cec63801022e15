import { createPrivateKey, X509Certificate } from 'node:crypto'
import { ExitCode, OperatorError } from '../errors.js'
import type { NewCertificate } from './records.js'

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

/** The certificates of a PEM chain, leaf first. */
export function splitChain(chainPem: string): string[] {
  return chainPem.match(PEM_BLOCK) ?? []
}

/** DNS names of a certificate's subjectAltName (lower case). */
export function dnsNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '').split(/,\s*/).filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4).toLowerCase())
}

/** Whether `name` is covered by a certificate name (one wildcard label at the left). */
export function covers(certName: string, name: string): boolean {
  if (certName === name) return true
  if (!certName.startsWith('*.') || name.startsWith('*.')) return false
  const dot = name.indexOf('.')
  return dot > 0 && name.slice(dot + 1) === certName.slice(2)
}

/** Reads a chain and its key into a certificate record, without judging dates or names; throws OperatorError. */
export function describeCertificate(chainPem: string, keyPem: string, source: NewCertificate['source']): NewCertificate {
  const pems = splitChain(chainPem)
  if (pems.length === 0) throw invalid('The certificate file holds no PEM certificate.', 'Give the certificate chain in PEM (-----BEGIN CERTIFICATE-----), the server certificate first.')
  let leaf: X509Certificate
  try {
    leaf = new X509Certificate(pems[0]!)
  } catch (err) {
    throw invalid(`The certificate cannot be read: ${(err as Error).message}.`, 'Give the certificate chain in PEM, the server certificate first.')
  }
  let matches: boolean
  try {
    matches = leaf.checkPrivateKey(createPrivateKey(keyPem))
  } catch (err) {
    throw invalid(`The private key cannot be read: ${(err as Error).message}.`, 'Give the unencrypted private key in PEM.')
  }
  if (!matches) throw invalid('The private key does not belong to the certificate.', 'Give the key the certificate was issued for (compare `openssl x509 -pubkey` and `openssl pkey -pubout`).')
  return {
    names: dnsNames(leaf),
    chainPem: `${pems.join('\n')}\n`,
    keyPem: keyPem.endsWith('\n') ? keyPem : `${keyPem}\n`,
    issuer: leaf.issuer.replace(/\n/g, ', '),
    serial: leaf.serialNumber,
    notBefore: Date.parse(leaf.validFrom),
    notAfter: Date.parse(leaf.validTo),
    source
  }
}

/**
 * An operator's certificate, refused when its key does not match, when it is not valid now, or when it
 * does not cover every name the platform serves.
 */
export function checkImport(chainPem: string, keyPem: string, requiredNames: readonly string[], now: number): NewCertificate {
  const cert = describeCertificate(chainPem, keyPem, 'import')
  if (cert.notAfter <= now) throw invalid(`The certificate expired on ${new Date(cert.notAfter).toISOString()}.`, 'Import a certificate that is valid now.')
  if (cert.notBefore > now) throw invalid(`The certificate is valid only from ${new Date(cert.notBefore).toISOString()}.`, 'Import a certificate that is valid now (check this machine\'s clock).')
  const missing = requiredNames.filter((n) => !cert.names.some((c) => covers(c, n)))
  if (missing.length > 0) {
    throw invalid(`The certificate does not cover ${missing.join(', ')} (it is for ${cert.names.join(', ') || 'no DNS name'}).`, 'Import a certificate for the platform\'s names (`pryv-node certs status` lists them; setting certs.names changes them).')
  }
  return cert
}

function invalid(message: string, hint: string): OperatorError {
  return new OperatorError('PRYV_CERTS_INVALID', message, { hint, exitCode: ExitCode.invalidInput })
}
