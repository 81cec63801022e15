import { createSocket } from 'node:dgram'
import { promises as fs } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { http } from '../http-server.js'
import type { EngineProbe, PortProbe } from './checks.js'

/** Binds host:port for a moment (TCP or UDP) and tells whether that worked. */
export function probePort(what: string, protocol: 'tcp' | 'udp', host: string, port: number): Promise<PortProbe> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
  const outcome = (err?: NodeJS.ErrnoException): PortProbe => ({
    what, protocol, address,
    outcome: err === undefined ? 'free' : err.code === 'EADDRINUSE' ? 'in-use' : err.code === 'EACCES' ? 'denied' : 'error',
    ...(err === undefined ? {} : { error: err.message })
  })
  return new Promise((done) => {
    if (protocol === 'tcp') {
      const server = createServer()
      server.once('error', (err) => done(outcome(err)))
      server.listen({ host, port, exclusive: true }, () => server.close(() => done(outcome())))
    } else {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
      socket.once('error', (err) => { socket.close(); done(outcome(err)) })
      socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => done(outcome())))
    }
  })
}

/** Latencies (ms) of `count` small writes each followed by fdatasync, in a scratch file in `dir`. */
export async function measureFsync(dir: string, count = 40): Promise<number[]> {
  const file = join(dir, `.doctor-fsync-${process.pid}`)
  const handle = await fs.open(file, 'w', 0o600)
  const block = Buffer.alloc(4096, 1)
  const samples: number[] = []
  try {
    for (let i = 0; i < count; i++) {
      const t0 = performance.now()
      await handle.write(block, 0, block.length, i * block.length)
      await handle.datasync()
      samples.push(performance.now() - t0)
    }
  } finally {
    await handle.close()
    await fs.rm(file, { force: true })
  }
  return samples
}

export async function freeBytes(dir: string): Promise<number> {
  const s = await fs.statfs(dir)
  return s.bavail * s.bsize
}

/** The soft limit on open files of a process (this one by default), from /proc. */
export async function openFilesLimit(pid: number | 'self' = 'self'): Promise<number | undefined> {
  try {
    const line = (await fs.readFile(`/proc/${pid}/limits`, 'utf8')).split('\n').find((l) => l.startsWith('Max open files'))
    const soft = line?.slice('Max open files'.length).trim().split(/\s+/)[0]
    return soft === 'unlimited' ? Number.POSITIVE_INFINITY : soft === undefined ? undefined : Number(soft)
  } catch {
    return undefined
  }
}

export async function rmemMax(): Promise<number | undefined> {
  try {
    return Number((await fs.readFile('/proc/sys/net/core/rmem_max', 'utf8')).trim())
  } catch {
    return undefined
  }
}

/** GET of the Docker Engine API over its Unix socket; JSON or text. */
function engineGet(socketPath: string, path: string): Promise<unknown> {
  return new Promise((done, fail) => {
    const req = http.request({ socketPath, path, timeout: 3000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d) => { body += d })
      res.on('end', () => {
        if ((res.statusCode ?? 500) >= 400) fail(new Error(`${path}: HTTP ${res.statusCode}`))
        else done(res.headers['content-type']?.includes('json') ? JSON.parse(body) : body)
      })
    })
    req.on('timeout', () => req.destroy(new Error('no answer within 3 s')))
    req.on('error', fail)
    req.end()
  })
}

export async function probeEngine(socketPath: string): Promise<EngineProbe> {
  try {
    const version = await engineGet(socketPath, '/version') as { Version?: string }
    const info = await engineGet(socketPath, '/info') as { Driver?: string }
    return { reachable: true, version: version.Version ?? '?', driver: info.Driver ?? '?' }
  } catch (err) {
    return { reachable: false, error: (err as Error).message }
  }
}
