import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { listening } from './listening.ts'

/** Debian's Caddy binary, if installed. */
export const CADDY = ['/usr/bin/caddy', '/usr/local/bin/caddy'].find((p) => existsSync(p))

/** Runs Caddy in the foreground with `sites` as its Caddyfile's site blocks (no admin API, no automatic HTTPS). */
export async function startCaddy(dir: string, port: number, sites: string): Promise<{ close(): Promise<void> }> {
  if (!CADDY) throw new Error('caddy is not installed (apt-get install caddy)')
  const file = join(dir, 'Caddyfile')
  await writeFile(file, `{\n  admin off\n  auto_https off\n  storage file_system ${join(dir, 'caddy')}\n}\n${sites}\n`)
  const child: ChildProcess = spawn(CADDY, ['run', '--config', file, '--adapter', 'caddyfile'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
  })
  let stderr = ''
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  const up = await Promise.race([listening(port, Date.now() + 10_000), exited.then(() => false)])
  if (!up) {
    child.kill('SIGKILL')
    throw new Error(`caddy did not start: ${stderr.slice(-2000)}`)
  }
  return {
    async close() {
      child.kill('SIGTERM')
      await exited
    },
  }
}
