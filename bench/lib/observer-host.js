// A child process of bench/fanout.js holding several in-process observer nodes (a single process
// cannot hold fifty libp2p nodes: their shared WebAssembly memory runs out). Driven over IPC:
//   { join: { invite, names, root } } → { joined: n, failed: [message] } (a join that fails is skipped)
//   { waitFor: revision }             → { applied: revision } once every observer here applied it
//   { stop: true }                    → exits after stopping its observers
import { join } from 'node:path'

await import('../../dist/polyfill.js')
const { joinPlatform } = await import('../../dist/node/lifecycle.js')
const { createLogger } = await import('../../dist/log.js')
const log = createLogger('silent')
const observers = []

process.on('message', async (msg) => {
  if (msg.join) {
    const failed = []
    for (const name of msg.join.names) {
      try {
        observers.push(await joinPlatform({ dataDir: join(msg.join.root, name), name, listen: ['/ip4/127.0.0.1/tcp/0'], dns: [], log, invite: msg.join.invite }))
      } catch (err) {
        failed.push(`${name}: ${err.code ?? ''} ${err.message}`)
      }
    }
    process.send({ joined: observers.length, failed })
  } else if (msg.waitFor !== undefined) {
    await Promise.all(observers.map((o) => o.node.replica.waitFor(msg.waitFor)))
    process.send({ applied: msg.waitFor })
  } else if (msg.stop) {
    await Promise.all(observers.map((o) => o.stop()))
    process.exit(0)
  }
})
// The harness is gone (it crashed or was killed): so are we.
process.on('disconnect', () => process.exit(0))
process.send({ ready: true })
const { isBenignLibp2pRace } = await import('../../dist/mesh/library-races.js')
process.on('uncaughtException', (err) => {
  if (!isBenignLibp2pRace(err)) throw err
})
