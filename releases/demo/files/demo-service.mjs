// A stand-in service of the demo release: reads its conf/ once at start, logs what it loaded, marks
// itself ready (the health check reads $PRYV_DATA_DIR/ready) and runs until stopped or until its node
// is gone. It listens on nothing, so several nodes can share one machine.
// With DEMO_WATCH=1 (and onChange: none in release.yaml) it follows its settings through the node's
// watch API instead of being restarted: a server-sent-events stream on $PRYV_WATCH_SOCKET, resumed
// from the last event id after a disconnect; the settings in use go to $PRYV_DATA_DIR/settings.json.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { join } from 'node:path'

const confDir = process.env.PRYV_CONFIG_DIR
const dataDir = process.env.PRYV_DATA_DIR
const ready = dataDir ? join(dataDir, 'ready') : undefined
if (ready) rmSync(ready, { force: true })

/** A short hash of everything in conf/: what the service loaded. */
function confHash() {
  const hash = createHash('sha256')
  const hashDir = (dir, prefix) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) hashDir(path, `${prefix}${name}/`)
      else hash.update(prefix + name).update(readFileSync(path))
    }
  }
  if (confDir) hashDir(confDir, '')
  return hash.digest('hex').slice(0, 12)
}
const conf = confHash()
console.log(`started pid=${process.pid} conf=${conf}${process.env.DEMO_TITLE ? ` title=${process.env.DEMO_TITLE}` : ''}`)
if (ready) {
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(ready, `${process.pid} ${conf}\n`)
}

// onChange: signal in release.yaml: the node rewrites conf/, then sends SIGHUP; the service reads it again.
process.on('SIGHUP', () => console.log(`reloaded pid=${process.pid} conf=${confHash()}`))

if (process.env.DEMO_WATCH === '1' && process.env.PRYV_WATCH_SOCKET && dataDir) follow(process.env.PRYV_WATCH_SOCKET)

/** Applies every settings event as it comes; reconnects after a disconnect from the last event id. */
function follow(socketPath) {
  let lastId
  const connect = () => {
    const headers = { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }
    const req = request({ socketPath, path: '/v1/settings', headers }, (res) => {
      let buffer = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => {
        buffer += chunk
        let end
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const id = /^id: ?(.*)$/m.exec(event)?.[1]
          const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.replace(/^data: ?/, '')).join('\n')
          if (id === undefined || data === '') continue
          lastId = id
          apply(JSON.parse(data))
        }
      })
      res.on('end', () => setTimeout(connect, 200))
      res.on('error', () => {})
    })
    req.on('error', () => setTimeout(connect, 500))
    req.end()
  }
  connect()
}

/** "Reloads": what a real service would do with its new settings, here written down for all to see. */
function apply({ index, settings }) {
  const file = join(dataDir, 'settings.json')
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(`${file}.tmp`, `${JSON.stringify({ pid: process.pid, index, settings })}\n`)
  renameSync(`${file}.tmp`, file)
}

const stop = () => {
  if (ready) rmSync(ready, { force: true })
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
// Ends with the node even when the node is killed (the process runtime cannot reap it then).
const parent = process.ppid
setInterval(() => {
  if (process.ppid !== parent) stop()
}, 500)
