#!/usr/bin/env node
// Entry point. The polyfill must load before any libp2p module.
import { setFlagsFromString } from 'node:v8'

// A node idles most of the time: a small young generation keeps its resident memory low (measured on
// Node 24: 118 MB → 89 MB idle RSS, no measurable CPU cost). The flag only fully applies from process
// start, so daemon commands re-exec themselves with it where Node can (process.execve, same pid).
// The re-exec also caps glibc's malloc arenas (one per thread by default, up to 8 per core: V8's and
// libuv's threads each keep one): about 3 MB less idle RSS per node (bench/RESULTS.md, Idle memory);
// an operator's own MALLOC_ARENA_MAX wins.
const SEMI_SPACE = '--max-semi-space-size=1'
const DAEMON_COMMANDS = new Set(['init-platform', 'join-platform', 'start', 'dev'])
if (!process.execArgv.includes(SEMI_SPACE) && process.argv.slice(2).some((a) => DAEMON_COMMANDS.has(a))) {
  if (typeof process.execve === 'function') {
    process.execve(process.execPath, [process.execPath, SEMI_SPACE, ...process.execArgv, ...process.argv.slice(1)], { MALLOC_ARENA_MAX: '2', ...process.env })
  }
  setFlagsFromString(SEMI_SPACE)
}

try {
  await import('../dist/polyfill.js')
} catch {
  process.stderr.write('error PRYV_NOT_BUILT: pryv-node is not built (dist/ is missing).\n  hint: run `npm run build` in the pryv-node checkout.\n')
  process.exit(1)
}
const { main } = await import('../dist/cli/main.js')
process.exitCode = await main(process.argv.slice(2))
