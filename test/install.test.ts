import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../core/paths.ts'
import { startDevProvider, type DevProvider } from '../plugins/dev-provider/dev-provider.ts'
import { ensureBuilt } from './support/build.ts'
import { freePort } from './support/harness.ts'
import { needs } from './support/needs.ts'

const run = promisify(execFile)
const root = packageRoot()

/**
 * OTPKI installed, not cloned: `npm pack`, the tarball installed into an
 * empty directory, and its `otpki` started with a configuration directory
 * elsewhere whose files import 'otpki'.
 */
/** Whether npm can reach its registry (installing the tarball fetches OTPKI's dependencies). */
const registry = (() => {
  try {
    execFileSync('npm', ['ping', '--loglevel=error'], { stdio: 'ignore', timeout: 15_000 })
    return true
  } catch {
    return false
  }
})()

describe('the packed package, installed', () => {
  if (!needs('the npm registry', registry, 'network access to the npm registry (npm ping)')) return
  let dir: string
  let otpki: string
  let child: ChildProcess | undefined
  let provider: DevProvider

  beforeAll(async () => {
    ensureBuilt()
    dir = await mkdtemp(join(tmpdir(), 'otpki-install-'))
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: root })
    const tarball = join(dir, stdout.trim().split('\n').at(-1)!)
    const app = join(dir, 'app')
    await mkdir(app)
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'site', private: true }))
    await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '--ignore-scripts', tarball], {
      cwd: app,
      maxBuffer: 16 * 1024 * 1024,
    })
    // The one install script is the SQLite driver's native build: reuse this checkout's when the
    // versions match (a minute of compiling saved), else build it as npm would.
    const version = async (base: string) =>
      (JSON.parse(await readFile(join(base, 'node_modules/sqlite3/package.json'), 'utf8')) as { version: string })
        .version
    if ((await version(app)) === (await version(root)))
      await cp(join(root, 'node_modules/sqlite3/build'), join(app, 'node_modules/sqlite3/build'), { recursive: true })
    else await run('npm', ['rebuild', 'sqlite3', '--loglevel=error'], { cwd: app, maxBuffer: 16 * 1024 * 1024 })
    otpki = join(app, 'node_modules', '.bin', 'otpki')
  }, 600_000)

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    await provider?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  it('gives an otpki command that prints its version', async () => {
    const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8'))
    const { stdout } = await run(otpki, ['--version'], { cwd: dir })
    expect(stdout.trim()).toBe(version)
  })

  it('starts with a configuration directory elsewhere; config and provider files import otpki', async () => {
    const port = await freePort()
    provider = await startDevProvider({
      port: 0,
      clients: [
        {
          clientId: 'otpki',
          clientSecret: 'installed-secret-0123456789',
          redirectUris: [`http://localhost:${port}/auth/callback`],
          postLogoutRedirectUris: [],
        },
      ],
    })
    const etc = join(dir, 'etc', 'otpki')
    await mkdir(join(etc, 'providers'), { recursive: true })
    await writeFile(
      join(etc, 'otpki.config.ts'),
      `import { defineConfig } from 'otpki'\nexport default defineConfig({ port: ${port}, host: '127.0.0.1', publicUrl: 'http://localhost:${port}', database: ${JSON.stringify(join(dir, 'var', 'otpki.sqlite'))}, providersDir: 'providers', plugins: ['otpki/plugins/passkey'] })\n`,
    )
    await writeFile(
      join(etc, 'providers', 'corp.ts'),
      `import { defineProvider } from 'otpki'\nexport default defineProvider({ displayName: 'Corp', issuer: ${JSON.stringify(provider.issuer)}, clientId: 'otpki', clientSecret: 'installed-secret-0123456789' })\n`,
    )
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTPKI_')))
    const check = await run(otpki, ['check', '-c', join(etc, 'otpki.config.ts')], { cwd: dir, env })
    expect(check.stdout).toContain('provider corp')
    expect(check.stdout).toContain('configuration ok')

    child = spawn(otpki, ['start', '-c', join(etc, 'otpki.config.ts')], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        if (output.includes('OTPKI Sign-in listening')) resolve()
      }
      child!.stdout!.on('data', onData)
      child!.stderr!.on('data', onData)
      child!.once('exit', (code) => reject(new Error(`otpki start exited with ${code}:\n${output}`)))
    })
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as Record<string, any>
    expect(ready.database).toBe('ok')
    const page = await (await fetch(`http://127.0.0.1:${port}/auth/sign-in`)).text()
    expect(page).toContain('Sign in with Corp')
    // A plugin the package ships, named by its package path: its provider, pages and script come from the package.
    expect(page).toContain('Sign in with a passkey')
    const ceremony = await fetch(`http://127.0.0.1:${port}/auth/passkeys/sign-in?challenge=${'a'.repeat(43)}`)
    expect(ceremony.status).toBe(200)
    expect(await ceremony.text()).toContain('src="/auth/passkeys/passkey.js"')
    expect((await fetch(`http://127.0.0.1:${port}/auth/passkeys/passkey.js`)).status).toBe(200)
  })
})
