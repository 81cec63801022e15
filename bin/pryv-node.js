#!/usr/bin/env node
// Entry point: the polyfill must load before any libp2p module.
import '../dist/polyfill.js'
const { main } = await import('../dist/cli/main.js')
process.exitCode = await main(process.argv.slice(2))
