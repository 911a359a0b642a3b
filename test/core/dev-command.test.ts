import { spawn, type ChildProcess } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../core/paths.ts'
import { TestBrowser, parseForm } from '../support/browser.ts'
import { ensureBuilt } from '../support/build.ts'
import { freePort, signIn } from '../support/harness.ts'
import { mtlsGet } from '../support/mtls.ts'

/** What a newcomer gets from `npm start`: the compiled `otpki dev`, run as a process. */
describe('otpki dev (the embedded default of npm start)', () => {
  let child: ChildProcess
  let dir: string
  let url: string
  let output = ''
  let mtlsPort: number

  beforeAll(async () => {
    ensureBuilt()
    dir = await mkdtemp(join(tmpdir(), 'otpki-dev-'))
    const providers = join(dir, 'providers')
    await mkdir(providers)
    const port = await freePort()
    const providerPort = await freePort()
    mtlsPort = await freePort()
    url = `http://localhost:${port}`
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTPKI_')))
    child = spawn(process.execPath, [join(packageRoot(), 'dist/core/cli.js'), 'dev'], {
      cwd: packageRoot(),
      env: {
        ...env,
        OTPKI_PORT: String(port),
        OTPKI_DEV_PROVIDER_PORT: String(providerPort),
        OTPKI_MTLS_PORT: String(mtlsPort),
        OTPKI_DATABASE: join(dir, 'otpki.sqlite'),
        // Never the operator's own provider files in config/providers.
        OTPKI_PROVIDERS_DIR: providers,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString()
        // The summary for a person comes once it listens.
        if (output.includes('OTPKI Sign-in listening') && output.includes('never for production')) resolve()
      }
      child.stdout!.on('data', onData)
      child.stderr!.on('data', onData)
      child.once('exit', (code) => reject(new Error(`otpki dev exited with ${code}:\n${output}`)))
    })
  }, 120_000)

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  })

  it('prints a summary a person can read: where to sign in, as whom, the console, the providers', () => {
    expect(output).toContain('OTPKI Sign-in (development)')
    // The summary for a person comes before the JSON log lines of the start.
    expect(output.indexOf('OTPKI Sign-in (development)')).toBeLessThan(output.indexOf('{"level"'))
    expect(output).toContain(`  sign in:        ${url}/  as admin / admin (an administrator) or alice / alice`)
    expect(output).toContain(`  console:        ${url}/admin`)
    expect(output).toMatch(/ {2}providers: +Development provider \((ready|pending)\)/)
    expect(output).toContain(`  mtls:           https://localhost:${mtlsPort}/auth/me`)
  })

  it('offers the development provider, signs in as the demo admin, and signs out', async () => {
    const browser = new TestBrowser()
    const page = await browser.request(`${url}/auth/sign-in`)
    expect(page.body).toContain('Sign in with Development provider')
    const signedIn = await signIn(browser, { url }, 'admin', 'admin')
    expect(signedIn.status).toBe(200)
    for (const text of ['>admin<', 'Ada Admin', 'admin@example.test', '>admin</dd>', 'Sign out'])
      expect(signedIn.body).toContain(text)
    const out = await browser.follow(`${url}/auth/sign-out`, {
      form: parseForm(signedIn.body, '/auth/sign-out').fields,
    })
    const confirm = parseForm(out.body)
    const back = await browser.follow(new URL(confirm.action, out.url).href, {
      form: { ...confirm.fields, logout: 'yes' },
    })
    expect(new URL(back.url).pathname).toBe('/auth/signed-out')
    expect(back.body).toContain('Sign in with Development provider')
    expect((await browser.request(`${url}/auth/me`)).status).toBe(401)
  })

  it('signs a script in through the mTLS listener with the generated development certificates', async () => {
    const pki = join(dir, 'dev-pki')
    const [ca, cert, key] = await Promise.all(
      ['ca.pem', 'client.pem', 'client-key.pem'].map((f) => readFile(join(pki, f), 'utf8')),
    )
    const res = await mtlsGet(`https://localhost:${mtlsPort}/auth/me`, { ca: ca!, cert: cert!, key: key! })
    expect(res).toMatchObject({ status: 200, body: { user: { username: 'automation' }, method: 'client-certificate' } })
  })

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })
})
