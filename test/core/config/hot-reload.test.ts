import { writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp } from '../../../core/app.ts'
import { TestBrowser, parseForm } from '../../support/browser.ts'
import { LogCapture, freePort, signIn, startHarness, type Harness } from '../../support/harness.ts'

const CORE_INDEX = resolve(import.meta.dirname, '../../../core/index.ts')

async function signInPage(h: Harness): Promise<string> {
  return (await new TestBrowser().request(`${h.url}/auth/sign-in`)).body
}

/** Starts a sign-in and stops at the provider's login form. */
async function startSignIn(h: Harness, browser: TestBrowser) {
  const start = await browser.request(`${h.url}/auth/sign-in?provider=dev`)
  expect(start.status).toBe(303)
  const login = await browser.follow(start.headers.get('location')!)
  return { login, form: parseForm(login.body, '/login') }
}

describe('provider files reload while the server runs', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness()
  })
  afterAll(() => h?.close())

  it('adds a provider file: the sign-in page offers both in displayOrder', async () => {
    const report = await h.writeProvider(
      'second.json',
      JSON.stringify({
        displayName: 'Second IdP',
        displayOrder: -1,
        issuer: 'http://127.0.0.2:9/realms/x',
        clientId: 'c',
        clientSecret: 's',
      }),
    )
    expect(report.added).toEqual(['second'])
    // Unreachable discovery is not a file error: the provider is in force, shown as not reachable.
    await h.app.registry
      .get('second')!
      .context()
      .catch(() => undefined)
    const page = await signInPage(h)
    expect(page).toContain('Sign in with SSO')
    expect(page.indexOf('Second IdP')).toBeLessThan(page.indexOf('Test SSO'))
    expect(page).toContain('Second IdP (unavailable)')
    const ready = (await (await fetch(`${h.url}/readyz`)).json()) as { providers: Record<string, { state: string }> }
    expect(ready.providers.dev!.state).toBe('ready')
    expect(ready.providers.second!.state).toBe('unavailable')
    expect((ready.providers.second as { error?: string }).error).toMatch(
      /^discovery at http:\/\/127\.0\.0\.2:9\/realms\/x\/\.well-known\/openid-configuration failed: /,
    )
    const res = await new TestBrowser().request(`${h.url}/auth/sign-in?provider=second`)
    expect(res.status).toBe(503)
    expect(res.body).toContain('Second IdP is not available right now')
  })

  it('changes a provider file: the new definition applies', async () => {
    const report = await h.writeProvider(
      'second.json',
      JSON.stringify({
        displayName: 'Second, renamed',
        issuer: 'http://127.0.0.2:9/realms/x',
        clientId: 'c',
        clientSecret: 's',
        hideOnLoginPage: true,
      }),
    )
    expect(report.changed).toEqual(['second'])
    const page = await signInPage(h)
    expect(page).not.toContain('Second')
    expect(page).toContain('Sign in with Test SSO')
  })

  it('a broken file is reported with file and key, and the last good definition stays', async () => {
    const report = await h.writeProvider('dev.json', h.providerJson({ displayName: 'Broken', clientSecrett: 'typo' }))
    expect(report.issues).toEqual([
      { file: join(h.providersDir, 'dev.json'), key: 'clientSecrett', reason: 'is not a known key' },
    ])
    expect(report.changed).toEqual([])
    const logged = h.logs.lines.find((l) => l.key === 'clientSecrett')
    expect(logged).toMatchObject({ file: join(h.providersDir, 'dev.json'), reason: 'is not a known key' })
    // /readyz reports the rejected file too, beside the definition still in force.
    const ready = (await (await fetch(`${h.url}/readyz`)).json()) as any
    expect(ready.rejected).toEqual([
      { file: join(h.providersDir, 'dev.json'), key: 'clientSecrett', reason: 'is not a known key' },
    ])
    expect(ready.providers.dev.state).toBe('ready')
    expect(await signInPage(h)).toContain('Sign in with Test SSO')
    const syntax = await h.writeProvider('dev.json', '{ "issuer": ')
    expect(syntax.issues[0]).toMatchObject({ file: join(h.providersDir, 'dev.json'), key: '(file)' })
    expect(syntax.issues[0]!.reason).toContain('invalid JSON')
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'alice')).status).toBe(200)
    const repaired = await h.writeProvider('dev.json', h.providerJson())
    expect(repaired.issues).toEqual([])
    expect(((await (await fetch(`${h.url}/readyz`)).json()) as any).rejected).toBeUndefined()
  })

  it('loads a TypeScript provider file with defineProvider', async () => {
    await h.removeProvider('second.json')
    const report = await h.writeProvider(
      'typed.ts',
      `import { defineProvider } from ${JSON.stringify(CORE_INDEX)}\nexport default defineProvider({ displayName: 'Typed', issuer: 'http://127.0.0.3:9', clientId: 'c', clientSecret: { env: 'OTPKI_TEST_UNSET_VARIABLE' } })\n`,
    )
    expect(report.issues).toEqual([
      {
        file: join(h.providersDir, 'typed.ts'),
        key: 'clientSecret',
        reason: 'environment variable OTPKI_TEST_UNSET_VARIABLE is not set',
      },
    ])
    process.env.OTPKI_TEST_UNSET_VARIABLE = 'from-env'
    const fixed = await h.writeProvider(
      'typed.ts',
      `export default { displayName: 'Typed', issuer: 'http://127.0.0.3:9', clientId: 'c', clientSecret: { env: 'OTPKI_TEST_UNSET_VARIABLE' } }\n`,
    )
    expect(fixed.added).toEqual(['typed'])
    expect(h.app.registry.get('typed')?.definition.options.clientSecret).toBe('from-env')
    const bad = await h.writeProvider('typed.ts', 'export default { displayName: ')
    expect(bad.issues[0]).toMatchObject({ file: join(h.providersDir, 'typed.ts'), key: '(file)' })
    expect(h.app.registry.get('typed')?.definition.displayName).toBe('Typed')
  })

  it('refuses two providers with the same name or the same issuer', async () => {
    const sameName = await h.writeProvider(
      'other.json',
      JSON.stringify({ name: 'typed', issuer: 'http://127.0.0.4:9', clientId: 'c', clientSecret: 's' }),
    )
    expect(sameName.issues.map((i) => [i.key, i.reason])).toContainEqual([
      'name',
      expect.stringContaining('duplicate provider name "typed"'),
    ])
    expect(h.app.registry.get('typed')?.definition.issuer).toBe('http://127.0.0.3:9')
    const sameIssuer = await h.writeProvider(
      'other.json',
      JSON.stringify({ issuer: h.provider.issuer, clientId: 'c', clientSecret: 's' }),
    )
    expect(sameIssuer.issues.map((i) => [i.key, i.reason])).toContainEqual([
      'issuer',
      expect.stringContaining('same issuer'),
    ])
    expect(h.app.registry.get('other')).toBeUndefined()
    await h.writeProvider(
      'typed.ts',
      `export default { displayName: 'Typed', issuer: 'http://127.0.0.3:9', clientId: 'c', clientSecret: 's', introspectTokens: true }\n`,
    )
    const twoIntrospecting = await h.writeProvider(
      'other.json',
      JSON.stringify({ issuer: 'http://127.0.0.5:9', clientId: 'c', clientSecret: 's', introspectTokens: true }),
    )
    expect(twoIntrospecting.issues).toContainEqual({
      file: join(h.providersDir, 'other.json'),
      key: 'introspectTokens',
      reason: expect.stringContaining('only one provider may introspect'),
    })
    expect(h.app.registry.get('other')).toBeUndefined()
    await h.removeProvider('other.json')
    await h.removeProvider('typed.ts')
  })

  it('a sign-in started before a change completes', async () => {
    const browser = new TestBrowser()
    const { login, form } = await startSignIn(h, browser)
    const report = await h.writeProvider('dev.json', h.providerJson({ displayName: 'Test SSO v2' }))
    expect(report.changed).toEqual(['dev'])
    const done = await browser.follow(new URL(form.action, login.url).href, {
      form: { ...form.fields, username: 'alice', password: 'alice' },
    })
    expect(done.status).toBe(200)
    expect(done.body).toContain('You are signed in')
  })

  it('a sign-in whose provider was removed meanwhile fails with a clear page, not a 500', async () => {
    const browser = new TestBrowser()
    const { login, form } = await startSignIn(h, browser)
    const report = await h.removeProvider('dev.json')
    expect(report.removed).toEqual(['dev'])
    const done = await browser.follow(new URL(form.action, login.url).href, {
      form: { ...form.fields, username: 'alice', password: 'alice' },
    })
    expect(done.status).toBe(409)
    expect(done.body).toContain('The sign-in configuration changed while you were signing in')
    expect(await signInPage(h)).toContain('Authentication is not available. Please contact an administrator.')
  })

  it('a disabled provider is invisible and unusable', async () => {
    await h.writeProvider('dev.json', h.providerJson({ enabled: false }))
    expect(await signInPage(h)).toContain('Authentication is not available')
    const res = await new TestBrowser().request(`${h.url}/auth/sign-in?provider=dev`)
    expect(res.status).toBe(404)
  })
})

describe('otpki.config.ts changes', () => {
  it('says in the log which changes need a restart', async () => {
    const dir = (await startHarness()).dir
    const file = join(dir, 'otpki.config.ts')
    const port = await freePort()
    await writeFile(
      file,
      `export default { port: ${port}, host: '127.0.0.1', database: 'data/db.sqlite', providersDir: 'providers' }\n`,
    )
    const logs = new LogCapture()
    const app = await startApp({ configFile: file, env: {}, logDestination: logs })
    try {
      const logged = new Promise<Record<string, unknown>>((resolve) => {
        const timer = setInterval(() => {
          const line = logs.lines.find((l) => String(l.msg).includes('restart OTPKI to apply'))
          if (line) {
            clearInterval(timer)
            resolve(line)
          }
        }, 20)
      })
      await writeFile(
        file,
        `export default { port: ${port}, host: '127.0.0.1', database: 'data/db.sqlite', providersDir: 'providers', sessionMaxLength: '8h' }\n`,
      )
      expect(await logged).toMatchObject({ keys: ['sessionMaxLength'] })
    } finally {
      await app.close()
    }
  })
})
