import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { Agent, request } from 'node:https'

export const PEBBLE = '/usr/bin/pebble'
export const hasPebble = existsSync(PEBBLE)

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

export interface PebbleOptions {
  /** Where Pebble's DNS-01 validation asks (one of the platform's nodes). */
  readonly dnsServer: string
  /** Lifetime of the certificates it issues, in seconds (Pebble's default: 5 years). */
  readonly validitySeconds?: number
  readonly env?: Record<string, string>
}

/**
 * Let's Encrypt's test ACME server (Debian package `pebble`) on loopback, with a TLS certificate made
 * for it here: `caFile` is what its clients must trust (NODE_EXTRA_CA_CERTS), known before it starts.
 */
export class Pebble {
  private proc?: ChildProcess
  readonly caFile: string
  output = ''

  private constructor(readonly dir: string, readonly port: number, readonly managementPort: number) {
    this.caFile = join(dir, 'pebble-tls.pem')
  }

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.port}/dir`
  }

  static async create(dir: string): Promise<Pebble> {
    const pebble = new Pebble(dir, await freePort(), await freePort())
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=pebble',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'pebble-tls.key'), '-out', pebble.caFile], { stdio: 'ignore' })
    return pebble
  }

  async start(options: PebbleOptions): Promise<void> {
    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${this.port}`,
        managementListenAddress: `127.0.0.1:${this.managementPort}`,
        certificate: this.caFile,
        privateKey: join(this.dir, 'pebble-tls.key'),
        httpPort: 5002,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(options.validitySeconds ? { certificateValidityPeriod: options.validitySeconds } : {})
      }
    }
    writeFileSync(join(this.dir, 'pebble.json'), JSON.stringify(config))
    this.output = ''
    this.proc = spawn(PEBBLE, ['-config', join(this.dir, 'pebble.json'), '-dnsserver', options.dnsServer], {
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const seen = (d: Buffer): void => {
      this.output += d
      for (const w of [...this.watchers]) w()
    }
    this.proc.stdout!.on('data', seen)
    this.proc.stderr!.on('data', seen)
    const deadline = Date.now() + 15_000
    while (!(await this.get('/dir').then(() => true, () => false))) {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error(`pebble did not start:\n${this.output}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  async stop(): Promise<void> {
    const p = this.proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGTERM')
    await exited
  }

  private readonly watchers = new Set<() => void>()

  /** Resolves as soon as Pebble has logged `count` orders (from its output, as it is written). */
  orderPlaced(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.ordersPlaced() < count) return
        this.watchers.delete(check)
        resolve()
      }
      this.watchers.add(check)
      check()
    })
  }

  /** Orders created so far (from Pebble's log lines). */
  ordersPlaced(): number {
    return (this.output.match(/Added order/g) ?? []).length
  }

  /** The root that signs what this Pebble issues (regenerated at every start). */
  async root(): Promise<string> {
    return this.get('/roots/0', this.managementPort)
  }

  get(path: string, port = this.port): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path, agent: new Agent({ ca: readFileSync(this.caFile) }), timeout: 2000 }, (res) => {
        let body = ''
        res.on('data', (d) => { body += d })
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${path}: ${res.statusCode}`))))
      })
      req.on('error', reject)
      req.end()
    })
  }
}
