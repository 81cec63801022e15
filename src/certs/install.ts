import type { RenderedFiles } from '../config/render.js'
import type { ReleaseService } from '../release/types.js'
import type { CertificateRecord } from './records.js'

/** Where each service of the release reads the certificate (`certificate:` in release.yaml), `{domain}` filled in. */
export function certificatePaths(services: readonly ReleaseService[], domain: string): Array<{ service: string, chain: string, key: string }> {
  return services.flatMap((s) => (s.certificate ? [{ service: s.name, chain: s.certificate.chain.replaceAll('{domain}', domain), key: s.certificate.key.replaceAll('{domain}', domain) }] : []))
}

/**
 * The certificate files of each service that reads them, rendered beside its configuration: written
 * atomically, and the service restarted when they change.
 */
export function certificateFiles(services: readonly ReleaseService[], cert: CertificateRecord | undefined, domain: string): Record<string, RenderedFiles> {
  if (!cert) return {}
  return Object.fromEntries(certificatePaths(services, domain).map((p) => [p.service, { [p.chain]: cert.chainPem, [p.key]: cert.keyPem }]))
}
