import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { connect } from 'node:tls'
import dns2 from 'dns2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { txtValues } from '../../src/certs/propagation.js'
import { cleanupTempDirs, NodeProcess, runCli, tempDir } from '../support/cli.js'
import { freePort, hasPebble, Pebble } from './pebble.js'
import { selfSigned } from './self-signed.js'

const TLS_RELEASE = resolve(import.meta.dirname, 'fixtures/tls-1.0.0')
/** Loopback addresses of this area's tests, away from other tests' defaults. */
const IPS = ['127.0.44.1', '127.0.44.2', '127.0.44.3']
const DOMAIN = 'pryv.test'
/** Short-lived certificates for the renewal test: a renewal is due at two thirds of it, within the test. */
const VALIDITY_S = 30

if (!hasPebble) console.warn('[skip] certificate tests: pebble is not installed (apt-get install pebble)')

interface CertsStatus {
  certificate: { serial: string, names: string[], issuer: string, notAfter: string } | null
  renewal: { orders: number, issued: number, failed: number, failures: number, holder?: { node: string }, lastAttempt?: { ok: boolean, by: string, error?: { message: string, problem?: { type?: string, detail?: string } } }, nextAttemptAt?: string }
  nodes: Array<{ node: string, installed: string | null }>
  warnings: string[]
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`)
    await new Promise((r) => setTimeout(r, 150))
  }
}

describe.skipIf(!hasPebble)('certificates through the platform\'s own DNS, against Pebble, on 3 nodes', () => {
  const nodes: NodeProcess[] = []
  const dirs: string[] = []
  const args = (i: number): string[] => ['--listen', `${IPS[i]}:0`, '--dns', `${IPS[i]}:0`, '--services', 'process']
  let pebble: Pebble
  let root: string
  const extraCa = process.env.NODE_EXTRA_CA_CERTS

  const cli = (i: number, a: string[]) => runCli(['--data-dir', dirs[i]!, ...a], { timeoutMs: 120_000 })
  const status = async (i: number): Promise<CertsStatus> => JSON.parse((await cli(i, ['certs', 'status', '--json'])).stdout)
  const dnsOf = (node: NodeProcess): string => (node.events.find((e) => e.event === 'ready')!.dns as string[])[0]!
  const startedPids = (i: number, service: string): string[] => {
    const file = join(dirs[i]!, 'services', service, 'log', 'output.log')
    return existsSync(file) ? [...readFileSync(file, 'utf8').matchAll(/started pid=(\d+)/g)].map((m) => m[1]!) : []
  }
  /** The certificate tls-web serves on node i, and whether it verifies against Pebble's root (as a client would). */
  const served = (i: number): Promise<{ serial: string, trusted: boolean }> => new Promise((res, rej) => {
    const port = Number(readFileSync(join(dirs[i]!, 'services', 'tls-web', 'data', 'port'), 'utf8'))
    const socket = connect({ host: '127.0.0.1', port, servername: `alice.${DOMAIN}`, ca: [root], rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber
      socket.end()
      res({ serial, trusted: socket.authorized })
    })
    socket.on('error', rej)
  })
  const servedSerial = async (i: number): Promise<string> => (await served(i)).serial
  const servedEverywhere = (serial: string, which = [0, 1, 2]) => waitFor(`every node serving ${serial}`, async () => {
    const serials = await Promise.all(which.map((i) => servedSerial(i).catch(() => 'none')))
    return serials.every((s) => s === serial)
  })
  const challengesLeft = async (): Promise<string[]> => {
    const answers = await Promise.all(nodes.map((n) => txtValues(dnsOf(n), `_acme-challenge.${DOMAIN}`)))
    return answers.flat()
  }

  beforeAll(async () => {
    const base = tempDir('pn-certs-')
    pebble = await Pebble.create(base)
    // Nodes trust Pebble's listener the way an operator would trust a private ACME server.
    process.env.NODE_EXTRA_CA_CERTS = pebble.caFile
    dirs.push(join(base, 'n1'), join(base, 'n2'), join(base, 'n3'))
    nodes.push(NodeProcess.start(dirs[0]!, ['init-platform', '--domain', DOMAIN, '--name', 'core1', '--release', TLS_RELEASE, ...args(0)]))
    const { invite } = await nodes[0]!.ready()
    const invite3 = JSON.parse((await cli(0, ['invite', 'create', '--json'])).stdout).invite
    nodes.push(NodeProcess.start(dirs[1]!, ['join-platform', invite as string, '--name', 'core2', ...args(1)]))
    nodes.push(NodeProcess.start(dirs[2]!, ['join-platform', invite3, '--name', 'core3', ...args(2)]))
    await Promise.all(nodes.map((n) => n.ready()))
    // Pebble validates DNS-01 by asking core3's DNS server: the whole path is the platform's own.
    await pebble.start({ dnsServer: dnsOf(nodes[2]!) })
    root = await pebble.root()
    const set = await cli(0, ['config', 'set', `certs.directoryUrl=${pebble.directoryUrl}`])
    expect(set.code, set.stderr).toBe(0)
    await waitFor('tls-web and plain running everywhere', async () => [0, 1, 2].every((i) => startedPids(i, 'tls-web').length > 0 && startedPids(i, 'plain').length > 0))
  }, 180_000)

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()))
    await pebble?.stop()
    if (extraCa === undefined) delete process.env.NODE_EXTRA_CA_CERTS
    else process.env.NODE_EXTRA_CA_CERTS = extraCa
    cleanupTempDirs()
  }, 120_000)

  let firstSerial = ''

  it('issues a wildcard certificate: every node installs it, only the service that reads it restarts, TLS serves the chain, no challenge is left', async () => {
    const plainBefore = [0, 1, 2].map((i) => startedPids(i, 'plain'))
    const tlsBefore = [0, 1, 2].map((i) => startedPids(i, 'tls-web').length)
    const r = await cli(1, ['certs', 'issue', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const issued = JSON.parse(r.stdout) as { serial: string, propagationMs: number }
    firstSerial = issued.serial
    await servedEverywhere(issued.serial)
    for (const i of [0, 1, 2]) expect(await served(i)).toEqual({ serial: issued.serial, trusted: true })
    const s = await status(0)
    expect(s.certificate).toMatchObject({ serial: issued.serial, names: [DOMAIN, `*.${DOMAIN}`] })
    expect(s.certificate!.issuer).toMatch(/Pebble/)
    expect(s.renewal).toMatchObject({ orders: 1, issued: 1, failed: 0, lastAttempt: { ok: true, by: 'core2' } })
    expect(s.nodes).toEqual(['core1', 'core2', 'core3'].map((node) => ({ node, installed: issued.serial })))
    // tls-web restarted once on each node (after the certificate appeared), plain never.
    for (const i of [0, 1, 2]) {
      expect(startedPids(i, 'tls-web').length).toBe(tlsBefore[i]! + 1)
      expect(startedPids(i, 'plain')).toEqual(plainBefore[i])
    }
    const keyPath = join(dirs[2]!, 'services', 'tls-web', 'conf', 'secret', `${DOMAIN}-key.pem`)
    const key = readFileSync(keyPath, 'utf8')
    // Read by the service's own user only.
    expect(statSync(keyPath).mode & 0o777).toBe(0o600)
    expect(key).toMatch(/BEGIN (EC )?PRIVATE KEY/)
    expect(await challengesLeft()).toEqual([])
    // The key is a secret: never in the status, never in a node's log.
    expect(JSON.stringify(s)).not.toContain('PRIVATE KEY')
    for (const n of nodes) expect(JSON.stringify(n.events) + n.stderr).not.toContain('PRIVATE KEY')
    // Only with the certificate's names: `issue` again says there is one.
    const again = await cli(0, ['certs', 'issue'])
    expect(again.code).toBe(4)
    expect(again.stderr).toContain('PRYV_CERTS_VALID')
  }, 120_000)

  it('certs import refuses a key of another certificate, an expired certificate and other names, changing nothing', async () => {
    const dir = tempDir('pn-import-')
    const write = (name: string, text: string): string => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    const day = 86_400_000
    const good = await selfSigned([DOMAIN, `*.${DOMAIN}`], new Date(Date.now() - day), new Date(Date.now() + 90 * day))
    const other = await selfSigned([DOMAIN, `*.${DOMAIN}`], new Date(Date.now() - day), new Date(Date.now() + 90 * day))
    const expired = await selfSigned([DOMAIN, `*.${DOMAIN}`], new Date(Date.now() - 90 * day), new Date(Date.now() - day))
    const elsewhere = await selfSigned(['other.test', '*.other.test'], new Date(Date.now() - day), new Date(Date.now() + 90 * day))
    const cases: Array<[string, string, RegExp]> = [
      [write('good.crt', good.cert), write('other.key', other.key), /does not belong to the certificate/],
      [write('expired.crt', expired.cert), write('expired.key', expired.key), /expired on/],
      [write('elsewhere.crt', elsewhere.cert), write('elsewhere.key', elsewhere.key), /does not cover pryv\.test, \*\.pryv\.test \(it is for other\.test, \*\.other\.test\)/],
      [write('not-pem.crt', 'hello'), write('good.key', good.key), /holds no PEM certificate/]
    ]
    for (const [cert, key, message] of cases) {
      const r = await cli(0, ['certs', 'import', cert, key])
      expect(r.code, r.stdout).toBe(3)
      expect(r.stderr).toMatch(/^error PRYV_CERTS_INVALID: /)
      expect(r.stderr).toMatch(message)
      expect(r.stderr).toContain('hint:')
      expect(r.stderr).not.toMatch(/\n\s+at /)
    }
    expect((await status(0)).certificate!.serial).toBe(firstSerial)
  }, 60_000)

  it('failures: validation refused, then the ACME server down: clear errors with the problem document, retried with backoff, no challenge left, nothing half-installed', async () => {
    // A second Pebble whose DNS-01 validation asks a name server that answers a wrong token.
    const liar = dns2.createServer({
      udp: true,
      handle: (request, send) => {
        const response = dns2.Packet.createResponseFromRequest(request)
        const q = request.questions[0]!
        response.answers.push({ name: q.name, type: dns2.Packet.TYPE.TXT, class: dns2.Packet.CLASS.IN, ttl: 1, data: 'not-the-token' } as never)
        send(response)
      }
    })
    const liarPort = await freePort('127.0.44.9')
    await liar.listen({ udp: { port: liarPort, address: '127.0.44.9' } })
    const refusing = await Pebble.create(tempDir('pn-pebble2-'))
    // Nodes trust only the first Pebble's listener certificate: reuse it.
    writeFileSync(refusing.caFile, readFileSync(pebble.caFile))
    writeFileSync(join(refusing.dir, 'pebble-tls.key'), readFileSync(join(pebble.dir, 'pebble-tls.key')))
    await refusing.start({ dnsServer: `127.0.44.9:${liarPort}` })
    try {
      expect((await cli(0, ['config', 'set', `certs.directoryUrl=${refusing.directoryUrl}`])).code).toBe(0)
      const refused = await cli(0, ['certs', 'renew'])
      expect(refused.code).toBe(5)
      expect(refused.stderr).toMatch(/^error PRYV_CERTS_FAILED: The certificate could not be obtained: .+/)
      const s1 = await status(1)
      expect(s1.renewal).toMatchObject({ failures: 1, failed: 1, lastAttempt: { ok: false, by: 'core1' } })
      expect(s1.renewal.lastAttempt!.error!.problem!.type).toMatch(/^urn:ietf:params:acme:error:/)
      expect(s1.renewal.nextAttemptAt).toBeDefined()
      expect(s1.warnings.join('\n')).toContain('the last certificate attempt failed')
      expect(await challengesLeft()).toEqual([])
      await servedEverywhere(firstSerial)

      await refusing.stop()
      const down = await cli(0, ['certs', 'renew'])
      expect(down.code).toBe(5)
      expect(down.stderr).toMatch(/the ACME server cannot be reached at https:\/\/127\.0\.0\.1:\d+\/.*: ECONNREFUSED/)
      const s2 = await status(2)
      expect(s2.renewal).toMatchObject({ failures: 2, failed: 2 })
      expect(await challengesLeft()).toEqual([])

      // Automatic: with an e-mail set and an alias domain the certificate does not cover yet, the
      // platform tries by itself, and again after its backoff.
      expect((await cli(0, ['config', 'set', 'certs.email=ops@pryv.test', 'dns.aliasDomains=["pryv.me"]'])).code).toBe(0)
      await waitFor('an automatic attempt after the backoff', async () => (await status(0)).renewal.failed >= 3, 90_000)
      expect(await challengesLeft()).toEqual([])
      expect((await status(0)).certificate!.serial).toBe(firstSerial)
      await servedEverywhere(firstSerial)
    } finally {
      await refusing.stop()
      // dns2's close() does not always settle: give it a moment, then go on.
      await Promise.race([liar.close(), new Promise((r) => setTimeout(r, 1000))])
      await cli(0, ['config', 'unset', 'certs.email', 'dns.aliasDomains'])
    }
  }, 300_000)

  it('renews by itself before expiry while the renewing node is killed mid-way: another resumes the same order, every node installs the new certificate', async () => {
    // Pebble again, now issuing short-lived certificates (a new CA, and it forgot the platform's account).
    await pebble.stop()
    await pebble.start({ dnsServer: dnsOf(nodes[2]!), validitySeconds: VALIDITY_S })
    root = await pebble.root()
    expect((await cli(0, ['config', 'set', `certs.directoryUrl=${pebble.directoryUrl}`])).code).toBe(0)
    // A manual renewal clears the failures of the test before; then nobody does anything.
    const manual = await cli(0, ['certs', 'renew', '--json'])
    expect(manual.code, manual.stderr).toBe(0)
    const current = JSON.parse(manual.stdout).serial as string
    await servedEverywhere(current)
    const before = (await status(1)).renewal
    const ordersSeen = pebble.ordersPlaced()
    expect((await cli(0, ['config', 'set', 'certs.email=ops@pryv.test'])).code).toBe(0)
    // The renewal starts by itself at two thirds of the lifetime; kill its node as soon as it has ordered.
    await pebble.orderPlaced(ordersSeen + 1)
    await nodes[0]!.kill()
    const renewed = await waitFor('a new certificate', async () => {
      const s = await status(1)
      return s.certificate && s.certificate.serial !== current ? s : undefined
    }, 60_000)
    expect(renewed.renewal.lastAttempt).toMatchObject({ ok: true, by: 'core2' })
    // Exactly one order for this renewal (as Pebble counts them): core2 resumed core1's, found in the
    // log or, when core1 died before recording it, in the account's orders list.
    expect(pebble.ordersPlaced() - ordersSeen).toBe(1)
    expect(renewed.renewal.orders - before.orders).toBeLessThanOrEqual(1)
    expect(renewed.renewal.issued - before.issued).toBe(1)
    // Renewals come every 20 s: under load the next one may replace this one before every node has
    // installed it, so wait for both survivors to serve one same certificate issued after `current`.
    await waitFor('core2 and core3 serving one renewed certificate', async () => {
      const [a, b] = await Promise.all([1, 2].map((i) => servedSerial(i).catch(() => current)))
      return a === b && a !== current
    })
    // The killed node comes back and installs it too.
    nodes[0] = NodeProcess.start(dirs[0]!, ['start', ...args(0)])
    await nodes[0].ready()
    await waitFor('core1 serving a renewed certificate', async () => (await servedSerial(0).catch(() => current)) !== current)
    // Renewals go on every 20 s: stop them, and once none is under way no challenge is left.
    expect((await cli(1, ['config', 'unset', 'certs.email'])).code).toBe(0)
    await waitFor('no renewal under way', async () => (await status(1)).renewal.holder === undefined)
    expect(await challengesLeft()).toEqual([])
  }, 180_000)
})
