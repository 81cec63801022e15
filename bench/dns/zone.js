// The benchmark zone, once as a ZoneSpec (pryv-node) and once as a zone file (NSD): same answers.
export const DOMAIN = 'example.test'

export const spec = {
  domain: DOMAIN,
  serial: 2024010101,
  soa: { minimum: 60 },
  ttl: { SOA: 300, A: 300, AAAA: 300, NS: 300, TXT: 300, CNAME: 300, weighted: 60 },
  nameServers: [
    { name: 'n1', addresses: ['192.0.2.1'] },
    { name: 'n2', addresses: ['192.0.2.2'] },
    { name: 'n3', addresses: ['192.0.2.3'] }
  ],
  nodes: [{ name: 'co1', addresses: ['192.0.2.11'] }],
  records: [{ name: '@', type: 'TXT', text: 'v=example-test platform zone' }],
  // Subset of all three, so the answer has the same three A records as NSD's RRset.
  weighted: [
    {
      name: 'reg',
      subsetSize: 3,
      targets: [1, 2, 3].map((i) => ({ id: `n${i}`, addresses: [`198.51.100.${i}`], weight: 1, healthy: true }))
    }
  ],
  users: { alice: 'co1', bob: 'co1' }
}

export const zoneFile = `$ORIGIN example.test.
$TTL 300
@       IN SOA  n1.example.test. hostmaster.example.test. 2024010101 3600 900 604800 60
@       IN NS   n1.example.test.
@       IN NS   n2.example.test.
@       IN NS   n3.example.test.
@       IN TXT  "v=example-test platform zone"
n1      IN A    192.0.2.1
n2      IN A    192.0.2.2
n3      IN A    192.0.2.3
co1     IN A    192.0.2.11
reg  60 IN A    198.51.100.1
reg  60 IN A    198.51.100.2
reg  60 IN A    198.51.100.3
alice   IN CNAME co1
bob     IN CNAME co1
`

/** dns-notes.md §4: A queries only; and a mix of positive, mixed-case, user, NXDOMAIN, NODATA. */
export const queriesA = Array.from({ length: 100 }, (_, i) => `${['reg', 'n1', 'n2', 'n3'][i % 4]}.example.test A`).join('\n')
export const queriesMix = Array.from(
  { length: 100 },
  (_, i) => ['reg.example.test A', 'N1.Example.TEST A', 'alice.example.test A', 'nope.example.test A', 'n2.example.test AAAA', 'co1.example.test A'][i % 6]
).join('\n')
