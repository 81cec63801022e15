// A stand-in service of the demo release: reads its conf/ once at start, logs what it loaded, marks
// itself ready (the health check reads $PRYV_DATA_DIR/ready) and runs until stopped or until its node
// is gone. It listens on nothing, so several nodes can share one machine.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const confDir = process.env.PRYV_CONFIG_DIR
const dataDir = process.env.PRYV_DATA_DIR
const ready = dataDir ? join(dataDir, 'ready') : undefined
if (ready) rmSync(ready, { force: true })

const hash = createHash('sha256')
const hashDir = (dir, prefix) => {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) hashDir(path, `${prefix}${name}/`)
    else hash.update(prefix + name).update(readFileSync(path))
  }
}
if (confDir) hashDir(confDir, '')
const conf = hash.digest('hex').slice(0, 12)
console.log(`started pid=${process.pid} conf=${conf}${process.env.DEMO_TITLE ? ` title=${process.env.DEMO_TITLE}` : ''}`)
if (ready) {
  mkdirSync(dataDir, { recursive: true })
  writeFileSync(ready, `${process.pid} ${conf}\n`)
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
