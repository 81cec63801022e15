#!/usr/bin/env node
// Certificates benchmark: real node processes on loopback against Pebble (Debian package `pebble`),
// DNS-01 through the platform's own DNS, the test release whose tls-web service reads the certificate.
//   npm run build && node bench/certs.js [nodes=5] [rounds=5]
// Each round forces a renewal through n0's control socket (`certs renew`) and measures
//   obtained: the reply (lease, order, challenges written through the log, propagation, validation, finalize);
//   propagation: of which waiting until every node's DNS answers the challenges (asked directly);
//   installed: until every node reports (certs status, files on disk) the new certificate installed.
// Pebble runs with PEBBLE_VA_NOSLEEP=1 (no random validation delay) and validates by asking n<last>'s DNS.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { request, Agent } from 'node:https'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { readFileSync } from 'node:fs'
import { control as call, header, lab, pct, sleep } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const count = Number(process.argv[2] ?? 5)
const rounds = Number(process.argv[3] ?? 5)
const RELEASE = resolve(import.meta.dirname, '../test/certs/fixtures/tls-1.0.0')
const ip = (i) => `127.0.45.${i + 1}`
const args = (i) => ['--listen', `${ip(i)}:0`, '--dns', `${ip(i)}:0`, '--services', 'process']

if (!existsSync('/usr/bin/pebble')) {
  console.error('bench/certs.js: pebble is not installed (apt-get install pebble)')
  process.exit(2)
}

const freePort = () => new Promise((res) => {
  const s = createServer()
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address()
    s.close(() => res(port))
  })
})

const l = lab()
let pebble
onInterrupt(async () => {
  pebble?.kill('SIGTERM')
  await l.close()
})
const control = (node, method, params = {}, timeoutMs) => call(node, method, params, timeoutMs)

try {
  // Pebble's listener certificate, trusted by the nodes as an operator would trust a private ACME server.
  const ca = join(l.root, 'pebble-tls.pem')
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=pebble',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(l.root, 'pebble-tls.key'), '-out', ca], { stdio: 'ignore' })
  process.env.NODE_EXTRA_CA_CERTS = ca

  const nodes = [l.start('n0', ['init-platform', '--domain', 'pryv.test', '--name', 'n0', '--release', RELEASE, ...args(0)])]
  await nodes[0].ready
  for (let i = 1; i < count; i++) {
    const { invite } = await control(nodes[0], 'invite.create')
    const n = l.start(`n${i}`, ['join-platform', invite, '--name', `n${i}`, ...args(i)])
    await n.ready
    nodes.push(n)
  }
  const lastDns = (await nodes.at(-1).ready).dns[0]
  const port = await freePort()
  writeFileSync(join(l.root, 'pebble.json'), JSON.stringify({ pebble: { listenAddress: `127.0.0.1:${port}`, managementListenAddress: `127.0.0.1:${await freePort()}`, certificate: ca, privateKey: join(l.root, 'pebble-tls.key'), httpPort: 5002, tlsPort: 5001, ocspResponderURL: '', externalAccountBindingRequired: false } }))
  pebble = spawn('/usr/bin/pebble', ['-config', join(l.root, 'pebble.json'), '-dnsserver', lastDns], { env: { ...process.env, PEBBLE_VA_NOSLEEP: '1' }, stdio: 'ignore' })
  const agent = new Agent({ ca: readFileSync(ca) })
  for (;;) {
    const up = await new Promise((res) => request({ host: '127.0.0.1', port, path: '/dir', agent }, (r) => { r.resume(); res(r.statusCode === 200) }).on('error', () => res(false)).end())
    if (up) break
    await sleep(100)
  }
  await control(nodes[0], 'settings.change', { set: { 'certs.directoryUrl': `https://127.0.0.1:${port}/dir` }, input: 'typed' })
  await sleep(1000)

  const obtainedMs = []
  const propagationMs = []
  const installedMs = []
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now()
    const out = await control(nodes[0], 'certs.issue', { force: true }, 300_000)
    obtainedMs.push(performance.now() - t0)
    propagationMs.push(out.propagationMs ?? 0)
    for (;;) {
      const s = await control(nodes[0], 'certs.status')
      if (s.nodes.every((n) => n.installed === out.serial)) break
      await sleep(5)
    }
    installedMs.push(performance.now() - t0)
    await sleep(200)
  }

  const f = (x) => x.toFixed(0)
  const row = (label, xs) => `| ${label} | ${f(pct(xs, 50))} | ${f(pct(xs, 99))} | ${f(Math.max(...xs))} |`
  const acmeMs = obtainedMs.map((x, i) => x - propagationMs[i])
  const share = pct(propagationMs, 50) / pct(installedMs, 50)
  const md = [header(`certs renew → installed on every node (${count} nodes, Pebble)`, `node bench/certs.js ${count} ${rounds}`)]
  md.push('| figure | p50 | p99 | max |')
  md.push('|---|---|---|---|')
  md.push(row(`renew → certificate obtained, ms (${rounds} rounds)`, obtainedMs))
  md.push(row('of which DNS propagation to every node, ms', propagationMs))
  md.push(row('of which everything else (ACME server, log writes), ms', acmeMs))
  md.push(row(`renew → installed on all ${count} nodes, ms`, installedMs))
  md.push('')
  md.push(`DNS propagation share of the whole (p50): ${(share * 100).toFixed(0)} %`)
  finish('certs', {
    title: 'Certificate renewal → installed on every node',
    command: `node bench/certs.js ${count} ${rounds}`,
    markdown: md.join('\n'),
    goals: [goal('DNS propagation of the challenges to every node, p99 (loopback)', Math.round(pct(propagationMs, 99)), '≤ 5000 ms', (v) => v <= 5000)],
    figures: { obtainedMs, propagationMs, installedMs }
  })
} finally {
  pebble?.kill('SIGTERM')
  await l.close()
}
