// Child process of nsd-compare.js: serves the bench zone with pryv-node's DnsServer until killed.
// Usage: node bench/dns/serve.js PORT [UDP_THREADS] [RRL_RATE]   (needs `npm run build` first)
// RRL_RATE: response rate limit per prefix and second; 0 (default) = off, as NSD runs in the speed runs.
import { compileZone, DEFAULT_RATE_LIMIT, DnsServer } from '../../dist/dns/index.js'
import { spec } from './zone.js'

const port = Number(process.argv[2])
const udpThreads = Number(process.argv[3] ?? 1)
const ratePerSecond = Number(process.argv[4] ?? 0)
const server = new DnsServer(compileZone(spec), { udpThreads, recvBufferSize: 4 << 20, rateLimit: { ...DEFAULT_RATE_LIMIT, ratePerSecond } })
const bound = await server.start({ udp: [{ host: '127.0.0.1', port }], tcp: [{ host: '127.0.0.1', port }] })
process.stdout.write(`${JSON.stringify(bound)}\n`)
process.on('SIGTERM', () => {
  server.stop().then(() => process.exit(0))
})
