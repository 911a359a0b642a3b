import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { packageRoot } from '../../core/paths.ts'

/** The compiled CLI (see ensureBuilt). */
export const CLI = join(packageRoot(), 'dist/core/cli.js')

/**
 * Runs the compiled `otpki` with `args`, without the caller's `OTPKI_*`
 * variables (from `cwd`, the package root by default); answers its exit code and output.
 */
export function otpki(args: string[], cwd = packageRoot()): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTPKI_')))
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}
