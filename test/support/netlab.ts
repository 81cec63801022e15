import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

/** The shared multi-host lab (network namespaces); see ../shared/reference/netlab.md. */
export const NETLAB = process.env.NETLAB ?? resolve(import.meta.dirname, '../../../shared/netlab')

/** Why lab tests cannot run here, or null when they can. */
export function netlabUnavailable(): string | null {
  if (process.platform !== 'linux') return 'netlab needs Linux network namespaces'
  if (process.getuid?.() !== 0) return 'netlab needs root (CI runs as root)'
  if (!existsSync(NETLAB)) return `netlab not found at ${NETLAB}`
  const r = spawnSync('bash', [NETLAB, 'check'], { encoding: 'utf8', timeout: 20_000 })
  return r.status === 0 ? null : `netlab check failed:\n${r.stdout}${r.stderr}`
}

export function netlab(...args: string[]): string {
  const r = spawnSync('bash', [NETLAB, ...args], { encoding: 'utf8', timeout: 60_000 })
  if (r.status !== 0) throw new Error(`netlab ${args.join(' ')} exited ${r.status}\n${r.stdout}${r.stderr}`)
  return r.stdout
}

/** Runs a command inside lab host `host` (h1, h2, …); its pid is the program's own. */
export function spawnIn(host: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn('bash', [NETLAB, 'exec', host, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
}
