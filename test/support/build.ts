import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../../core/paths.ts'

function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(
      newest,
      entry.isDirectory() ? newestSource(path) : entry.name.endsWith('.ts') ? statSync(path).mtimeMs : 0,
    )
  }
  return newest
}

/**
 * Builds dist/ when it is missing or older than the sources: the CLI tests
 * run the compiled program, and config files import `otpki`, which resolves
 * to the compiled package.
 */
export function ensureBuilt(): void {
  const root = packageRoot()
  const built = join(root, 'dist/core/cli.js')
  const stale =
    !existsSync(built) ||
    statSync(built).mtimeMs < Math.max(newestSource(join(root, 'core')), newestSource(join(root, 'plugins')))
  if (stale) execFileSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' })
}
