import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./src/polyfill.ts'],
    // Generous: multi-process tests share 2 cores with whatever else runs on the machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Multi-process tests start real nodes; two cores cannot run many files at once.
    maxWorkers: 2,
    reporters: ['default', './test/support/plain-summary.ts']
  }
})
