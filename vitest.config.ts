import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const source = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  // Plugins and examples import the package by name; tests run it from source.
  resolve: {
    alias: [
      { find: /^otpki\/testing$/, replacement: source('./testing/index.ts') },
      { find: /^otpki$/, replacement: source('./index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts', 'examples/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // oidc-provider warns in every test file that imports it on Node 20 (the README says so once).
    onConsoleLog: (log) => !log.includes('oidc-provider WARNING: Unsupported runtime'),
  },
})
