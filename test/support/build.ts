import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../../core/paths.ts'

/** Builds dist/ when missing: config files import `otpki`, which resolves to the compiled package. */
export function ensureBuilt(): void {
  const root = packageRoot()
  if (!existsSync(join(root, 'dist/core/index.js'))) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
}
