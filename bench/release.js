#!/usr/bin/env node
// Release rollout benchmark: 3 node processes on loopback running the demo release's services.
//   npm run build && node bench/release.js [backends=process,docker] [rounds=3]
// Per backend and round: `release apply --wait` of demo 1.1.0 (a settings migration; a canary, then
// waves of one) until every node reports its services healthy; a broken 1.2.0 (health gate never
// passes) until the platform is back on 1.1.0 everywhere; `release rollback --wait` to 1.0.0. The
// reference, same platform and run: `restart demo-api --all` (one service, one node at a time,
// healthy before the next), the floor of any rolling change. Docker uses the engine of
// scripts/docker-engine.sh (started here when none is running, and stopped again).
import { execFileSync, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { fixtureBundle } from '../test/release/fixture-bundle.js'
import { header, lab, pct } from './lib/nodes.js'
import { finish, goal, onInterrupt } from './lib/report.js'

const backends = (process.argv[2] ?? 'process,docker').split(',')
const rounds = Number(process.argv[3] ?? 3)
const ROOT = resolve(import.meta.dirname, '..')
const BIN = resolve(ROOT, 'bin/pryv-node.js')
const ENGINE = resolve(ROOT, 'scripts/docker-engine.sh')

let startedEngine = false
const labs = []
onInterrupt(async () => {
  for (const l of labs) await l.close()
  if (startedEngine) execFileSync('bash', [ENGINE, 'stop'], { stdio: 'ignore' })
})

/** Runs the CLI against a node; resolves with its exit code, parsed JSON output and wall time. */
function cli(node, args) {
  return new Promise((done) => {
    const t0 = performance.now()
    const p = spawn(process.execPath, [BIN, '--data-dir', node.dir, ...args, '--json'], { env: { ...process.env, PRYV_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => { out += d })
    p.stderr.on('data', (d) => { err += d })
    p.on('exit', (code) => {
      let json
      // One JSON document, or JSON lines (progress events, then the result).
      for (const text of [out, out.trim().split('\n').at(-1)]) {
        try {
          json = JSON.parse(text)
          break
        } catch {}
      }
      done({ code, json, ms: performance.now() - t0, err })
    })
  })
}

async function waitComplete(node) {
  for (let i = 0; i < 600; i++) {
    const s = await cli(node, ['release', 'status'])
    if (s.json?.complete) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error('the platform never became healthy')
}

function engineArgs() {
  let socket = process.env.PRYV_TEST_DOCKER_SOCKET
  if (!socket) {
    const exports = execFileSync('bash', [ENGINE, 'start'], { encoding: 'utf8' }).trim().split('\n').at(-1)
    socket = /PRYV_TEST_DOCKER_SOCKET=(\S+)/.exec(exports)[1]
    startedEngine = true
  }
  return ['--services', 'docker', '--docker-socket', socket]
}

function removeContainers(socket, platformId) {
  const env = { ...process.env, DOCKER_HOST: `unix://${socket}` }
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=io.pryv.platform=${platformId}`], { env, encoding: 'utf8' }).split('\n').filter(Boolean)
  if (ids.length > 0) execFileSync('docker', ['rm', '-f', ...ids], { env, stdio: 'ignore' })
}

const results = {}
try {
  for (const backend of backends) {
    const args = ['--listen', '127.0.0.1:0', '--dns', 'none', ...(backend === 'docker' ? engineArgs() : ['--services', 'process'])]
    const upgrade = []
    const autoRollback = []
    const rollback = []
    const reference = []
    for (let round = 0; round < rounds; round++) {
      const l = lab('pnrel-')
      labs.push(l)
      const nodes = [l.start(`r${round}n1`, ['init-platform', '--domain', 'pryv.test', '--name', 'core1', ...args])]
      let { invite } = await nodes[0].ready
      for (const name of ['core2', 'core3']) {
        const n = l.start(`r${round}${name}`, ['join-platform', invite, '--name', name, ...args])
        await n.ready
        nodes.push(n)
        invite = (await cli(nodes[0], ['invite', 'create'])).json.invite
      }
      await waitComplete(nodes[0])
      const ref = await cli(nodes[0], ['restart', 'demo-api', '--all'])
      if (ref.code === 0) reference.push(ref.ms)
      const up = await cli(nodes[0], ['release', 'apply', fixtureBundle('demo-1.1.0', l.root), '--wait'])
      if (up.code !== 0) throw new Error(`apply 1.1.0 failed (${up.code}): ${up.err}`)
      upgrade.push(up.ms)
      const broken = await cli(nodes[0], ['release', 'apply', fixtureBundle('demo-1.2.0-unhealthy', l.root), '--wait'])
      if (broken.code !== 8) throw new Error(`the broken release did not roll back (exit ${broken.code}): ${broken.err}`)
      autoRollback.push(broken.ms)
      const back = await cli(nodes[0], ['release', 'rollback', '--wait'])
      if (back.code !== 0) throw new Error(`rollback failed (${back.code}): ${back.err}`)
      rollback.push(back.ms)
      const platformId = (await cli(nodes[0], ['status'])).json.platform.id
      await l.close()
      labs.pop()
      // Containers outlive their nodes by design: remove this platform's.
      if (backend === 'docker') removeContainers(args.at(-1), platformId)
    }
    results[backend] = { upgrade, autoRollback, rollback, reference }
  }
} finally {
  for (const l of labs) await l.close()
  if (startedEngine) execFileSync('bash', [ENGINE, 'stop'], { stdio: 'ignore' })
}

const s = (ms) => (ms / 1000).toFixed(1)
const md = [header('release rollouts', `node bench/release.js ${backends.join(',')} ${rounds}`)]
md.push('3 nodes on loopback, demo services (2 per node, health-checked every 500 ms); budget 1 (a canary, then one node per wave). Seconds, from the CLI command to every node done.')
md.push('')
md.push('| backend | rounds | apply 1.1.0 (migration), p50 / max | broken 1.2.0 → back on 1.1.0 everywhere, p50 / max | `release rollback` to 1.0.0, p50 / max | reference: `restart demo-api --all`, p50 |')
md.push('|---|---|---|---|---|---|')
for (const [backend, r] of Object.entries(results)) {
  md.push(`| ${backend} | ${rounds} | ${s(pct(r.upgrade, 50))} / ${s(Math.max(...r.upgrade))} | ${s(pct(r.autoRollback, 50))} / ${s(Math.max(...r.autoRollback))} | ${s(pct(r.rollback, 50))} / ${s(Math.max(...r.rollback))} | ${r.reference.length > 0 ? s(pct(r.reference, 50)) : '-'} |`)
}
finish('release', {
  title: 'Release rollouts',
  command: `node bench/release.js ${backends.join(',')} ${rounds}`,
  markdown: md.join('\n'),
  goals: Object.entries(results).map(([backend, r]) => goal(`release: broken version rolled back everywhere (${backend}), p50 s`, Number(s(pct(r.autoRollback, 50))), 'rolls back by itself', () => true)),
  figures: results
})
