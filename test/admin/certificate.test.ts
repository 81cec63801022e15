import { writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { join } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { hasPebble, Pebble } from '../certs/pebble.js'
import { selfSigned } from '../certs/self-signed.js'

/** This area's loopback address for the mesh and DNS (the admin app listens beyond loopback: 0.0.0.0). */
const IP = '127.0.46.1'
const DOMAIN = 'pryv.test'
const HOST = `core1.${DOMAIN}`

if (!hasPebble) console.warn('[skip] admin certificate test: pebble is not installed (apt-get install pebble)')

interface Served {
  readonly status: number
  readonly serial: string
  readonly fingerprint: string
}

/** GET /healthz as a browser at https://core1.pryv.test would, trusting only `ca`: throws when the certificate does not verify. */
function verifiedGet(port: number, ca: string): Promise<Served> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername: HOST, path: '/healthz', headers: { host: `${HOST}:${port}` }, ca, agent: false, timeout: 5000 }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate()
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, serial: peer.serialNumber, fingerprint: peer.fingerprint256 }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
    await new Promise((r) => setTimeout(r, 150))
  }
}

describe.skipIf(!hasPebble)('the admin app beyond loopback serves the platform certificate once there is one', () => {
  let node: NodeProcess
  let pebble: Pebble
  let root: string
  let port: number
  const extraCa = process.env.NODE_EXTRA_CA_CERTS
  const cli = (args: string[]) => runCli(['--data-dir', node.dataDir, ...args], { timeoutMs: 120_000 })
  const adminStatus = async () => JSON.parse((await cli(['status', '--json'])).stdout).admin as { url: string, fingerprint: string, certificate: { source: string, subject: string, serial: string, notAfter: string, fingerprint: string, names: string[] } }

  beforeAll(async () => {
    const base = tempDir('pn-admin-cert-')
    pebble = await Pebble.create(base)
    process.env.NODE_EXTRA_CA_CERTS = pebble.caFile
    node = NodeProcess.start(join(base, 'n1'), ['init-platform', '--domain', DOMAIN, '--name', 'core1', '--listen', `${IP}:0`, '--dns', `${IP}:0`, '--admin', '0.0.0.0:0', '--services', 'none'], { PRYV_LOG_LEVEL: 'info' })
    const ready = await node.ready()
    port = Number(new URL(ready.admin as string).port)
    await pebble.start({ dnsServer: (ready.dns as string[])[0]! })
    root = await pebble.root()
    const set = await cli(['config', 'set', `certs.directoryUrl=${pebble.directoryUrl}`])
    expect(set.code, set.stderr).toBe(0)
  }, 120_000)

  afterAll(async () => {
    await node?.stop()
    await pebble?.stop()
    if (extraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS
    else process.env.NODE_EXTRA_CA_CERTS = extraCa
    cleanupTempDirs()
  }, 60_000)

  it('serves the self-signed certificate until the platform has one, then the issued one and each renewal without a restart; status and the log say which', async () => {
    const before = await adminStatus()
    expect(before.certificate).toMatchObject({ source: 'self-signed', subject: `CN=${HOST}`, fingerprint: before.fingerprint })
    await expect(verifiedGet(port, root)).rejects.toThrow()
    expect(node.stderr).toMatch(/"certificate":\{"source":"self-signed".*"msg":"serving the admin app"/)

    const issued = await cli(['certs', 'issue', '--json'])
    expect(issued.code, issued.stderr).toBe(0)
    const first = JSON.parse(issued.stdout) as { serial: string }
    const served = await until('the issued certificate served', async () => {
      const s = await verifiedGet(port, root)
      return s.serial.toLowerCase() === first.serial.toLowerCase() ? s : undefined
    })
    expect(served.status).toBe(200)
    const after = await adminStatus()
    expect(after.certificate).toMatchObject({ source: 'platform', serial: first.serial, fingerprint: served.fingerprint, names: [DOMAIN, `*.${DOMAIN}`] })
    expect(Date.parse(after.certificate.notAfter)).toBeGreaterThan(Date.now())
    expect(after.fingerprint).toBe(served.fingerprint)
    const text = (await cli(['status'])).stdout
    expect(text).toContain(`platform certificate`)
    expect(text).toContain(served.fingerprint)

    const renewed = await cli(['certs', 'renew', '--json'])
    expect(renewed.code, renewed.stderr).toBe(0)
    const second = JSON.parse(renewed.stdout) as { serial: string }
    expect(second.serial).not.toBe(first.serial)
    await until('the renewed certificate served', async () => ((await verifiedGet(port, root)).serial.toLowerCase() === second.serial.toLowerCase() ? true : undefined))
    expect(node.proc.exitCode).toBeNull()
    expect(node.events.filter((e) => e.event === 'ready')).toHaveLength(1)
    expect(node.stderr).toContain('the admin app serves another certificate')
    expect(node.stderr).not.toContain('PRIVATE KEY')
  }, 180_000)

  it('serves an imported certificate at once: a client trusting only it verifies the admin app', async () => {
    const day = 86_400_000
    const bought = await selfSigned([DOMAIN, `*.${DOMAIN}`], new Date(Date.now() - day), new Date(Date.now() + 90 * day))
    const dir = tempDir('pn-admin-import-')
    writeFileSync(join(dir, 'bundle.crt'), bought.cert)
    writeFileSync(join(dir, 'key.pem'), bought.key)
    const r = await cli(['certs', 'import', join(dir, 'bundle.crt'), join(dir, 'key.pem')])
    expect(r.code, r.stderr).toBe(0)
    const served = await until('the imported certificate served', async () => verifiedGet(port, bought.cert).catch(() => undefined))
    expect(served.status).toBe(200)
    expect((await adminStatus()).certificate).toMatchObject({ source: 'platform', fingerprint: served.fingerprint })
    // The CA of the certificate before it no longer verifies the app.
    await expect(verifiedGet(port, root)).rejects.toThrow()
  }, 60_000)
})
