import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./src/polyfill.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Multi-process tests start real nodes; two cores cannot run many files at once.
    maxWorkers: 2,
    reporters: ['default', './test/support/plain-summary.ts']
  }
})
