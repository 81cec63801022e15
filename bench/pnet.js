#!/usr/bin/env node
// Private-network throughput: the mesh's multi-key protector (src/mesh/pnet.ts) next to the stock
// @libp2p/pnet, in the same run: two libp2p nodes on loopback, one stream pushing `mib` MiB.
//   npm run build && node bench/pnet.js [mib=64] [rounds=3]
// Variants: stock pnet; ours with one key; ours while a rotation accepts two keys (inbound connections
// recognise their key from the first bytes).
import { generateKeyPair } from '@libp2p/crypto/keys'
import { noise } from '@libp2p/noise'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import { header, pct } from './lib/nodes.js'
import { finish } from './lib/report.js'

const { PlatformKeyring, newPlatformKeyHex, swarmKey } = await import('../dist/mesh/keys.js')
const mib = Number(process.argv[2] ?? 64)
const rounds = Number(process.argv[3] ?? 3)
const PROTOCOL = '/bench/push/1.0.0'
const CHUNK = new Uint8Array(64 * 1024)

async function node(connectionProtector) {
  const n = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector
  })
  return n
}

/** MiB/s pushed from a dialer to a listener through one stream. */
async function push(dialerProtector, listenerProtector) {
  const [dialer, listener] = [await node(dialerProtector), await node(listenerProtector)]
  let received = 0
  let finished
  const done = new Promise((r) => { finished = r })
  await listener.handle(PROTOCOL, (stream) => {
    stream.addEventListener('message', (evt) => {
      received += evt.data.byteLength
      if (received >= mib * 1024 * 1024) finished()
    })
  })
  const stream = await dialer.dialProtocol(listener.getMultiaddrs()[0], PROTOCOL)
  const t0 = performance.now()
  for (let sent = 0; sent < mib * 1024 * 1024; sent += CHUNK.byteLength) {
    if (!stream.send(CHUNK)) await new Promise((r) => stream.addEventListener('drain', r, { once: true }))
  }
  await done
  const seconds = (performance.now() - t0) / 1000
  await dialer.stop()
  await listener.stop()
  return mib / seconds
}

const key = newPlatformKeyHex()
const rotating = new PlatformKeyring(key, [newPlatformKeyHex()])
const variants = {
  'stock @libp2p/pnet': () => push(preSharedKey({ psk: swarmKey(key) }), preSharedKey({ psk: swarmKey(key) })),
  'ours, one key': () => push(new PlatformKeyring(key).connectionProtector(), new PlatformKeyring(key).connectionProtector()),
  'ours, two keys accepted (rotation)': () => push(new PlatformKeyring(key).connectionProtector(), rotating.connectionProtector())
}
const results = Object.fromEntries(Object.keys(variants).map((name) => [name, []]))
for (let r = 0; r < rounds; r++) {
  for (const [name, run] of Object.entries(variants)) results[name].push(await run())
}
const md = [header('private network throughput', `node bench/pnet.js ${mib} ${rounds}`)]
md.push('| variant | MiB/s p50 | min | max |')
md.push('|---|---|---|---|')
for (const [name, xs] of Object.entries(results)) md.push(`| ${name} | ${pct(xs, 50).toFixed(0)} | ${Math.min(...xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`)
finish('pnet', { title: 'Private network throughput', command: `node bench/pnet.js ${mib} ${rounds}`, markdown: md.join('\n'), figures: results })
