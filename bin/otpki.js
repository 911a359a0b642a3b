#!/usr/bin/env node
// The `otpki` command runs the compiled CLI (npm run build).
import { existsSync } from 'node:fs'
import module from 'node:module'

// Node 22.1 and later keep compiled code between runs: a start loads several hundred modules.
module.enableCompileCache?.()

const cli = new URL('../dist/core/cli.js', import.meta.url)
if (!existsSync(cli)) {
  console.error('otpki: not built yet; run `npm run build` first')
  process.exit(1)
}
await import(cli.href)
