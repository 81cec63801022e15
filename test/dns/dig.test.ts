// The same server seen by a real resolver tool: BIND's dig (Debian package bind9-dnsutils).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compileZone, DnsServer } from '../../src/dns/index.js'
import { dig, exampleSpec, hasDig } from './helpers.js'

const available = await hasDig()
let server: DnsServer
let port: number

beforeAll(async () => {
  server = new DnsServer(compileZone(exampleSpec()), { random: () => 0 })
  const b = await server.start({
    udp: [{ host: '127.0.0.1', port: 0 }],
    tcp: [{ host: '127.0.0.1', port: 0 }]
  })
  port = b.udp[0]!.port
})
afterAll(() => server.stop())

const rows: [string, string[], RegExp[]][] = [
  ['RFC 1035: authoritative A', ['co1.example.test', 'A'], [/status: NOERROR/, /flags: qr aa;/, /co1\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.11/]],
  ['RFC 4343: asked case echoed', ['CO1.Example.Test', 'A'], [/;CO1\.Example\.Test\.\s+IN\s+A/, /CO1\.Example\.Test\.\s+300\s+IN\s+A/]],
  ['RFC 2308: NXDOMAIN with SOA', ['nope.example.test', 'A'], [/status: NXDOMAIN/, /AUTHORITY SECTION:\nexample\.test\.\s+60\s+IN\s+SOA\s+n1\.example\.test\. hostmaster\.example\.test\. 2024010101/]],
  ['RFC 2308: NODATA with SOA', ['co2.example.test', 'AAAA'], [/status: NOERROR/, /ANSWER: 0, AUTHORITY: 1/]],
  ['REFUSED outside the zone', ['www.example.org', 'A'], [/status: REFUSED/]],
  ['RFC 6891: OPT echoed with our payload size', ['+bufsize=4096', 'co1.example.test', 'A'], [/; EDNS: version: 0, flags:; udp: 1232/]],
  ['RFC 6891 §6.1.3: BADVERS', ['+edns=1', '+noednsnegotiation', 'co1.example.test', 'A'], [/status: BADVERS/]],
  ['RFC 7766: TC over UDP, dig retries over TCP and gets it all', ['+noedns', 'big.example.test', 'TXT'], [/Truncated, retrying in TCP mode/, /"c{200}"/]],
  ['TCP: NS with glue', ['+tcp', 'example.test', 'NS'], [/ADDITIONAL: 4/, /n1\.example\.test\.\s+300\s+IN\s+AAAA\s+2001:db8::1/]],
  ['RFC 8482: ANY → HINFO', ['co1.example.test', 'ANY'], [/IN\s+HINFO\s+"RFC8482" ""/]],
  ['CNAME chased into a weighted name', ['access.example.test', 'A'], [/access\.example\.test\.\s+300\s+IN\s+CNAME\s+reg\.example\.test\./, /reg\.example\.test\.\s+30\s+IN\s+A\s+198\.51\.100\.1/]],
  ['user → CNAME + core address', ['alice.example.test', 'A'], [/CNAME\s+co1\.example\.test\./, /co1\.example\.test\.\s+300\s+IN\s+A\s+192\.0\.2\.11/]],
  ['RFC 5936: AXFR refused', ['example.test', 'AXFR'], [/Transfer failed/]]
]

describe.skipIf(!available)('dig', () => {
  it.each(rows)('%s', async (_what, args, patterns) => {
    const out = await dig(port, args)
    for (const p of patterns) expect(out).toMatch(p)
  })
})
