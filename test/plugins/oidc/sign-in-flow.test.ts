import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../../../core/clock.ts'
import { demoUsers } from '../../../plugins/dev-provider/dev-provider.ts'
import { TestBrowser, parseForm } from '../../support/browser.ts'
import { closeAfterEach, me, signIn, signInUntilCallback, startHarness, type Harness } from '../../support/harness.ts'

/** A refused sign-in: the status, a message for people, and no session. */
async function expectRefused(
  browser: TestBrowser,
  h: Harness,
  page: { status: number; body: string },
  status: number,
  message: string,
) {
  expect(page.status).toBe(status)
  expect(page.body).toContain(message)
  expect((await me(browser, h)).status).toBe(401)
}

async function dbRows(h: Harness, sql: string): Promise<Record<string, unknown>[]> {
  return h.app.orm.em.fork().getConnection().execute(sql)
}

describe('sign-in through a real OpenID provider', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({
      providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
    })
  })
  afterAll(() => h?.close())

  it('first sign-in creates the user and shows who they are', async () => {
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'admin')
    expect(page.status).toBe(200)
    expect(page.url).toBe(`${h.url}/`)
    expect(page.body).toContain('You are signed in')
    expect(page.body).toContain('>admin<')
    expect(page.body).toContain('Ada Admin')
    expect(page.body).toContain('admin@example.test')
    expect(await me(browser, h)).toMatchObject({
      status: 200,
      body: {
        user: { username: 'admin', firstName: 'Ada', lastName: 'Admin', email: 'admin@example.test', roles: ['admin'] },
        method: 'oidc',
        provider: 'dev',
      },
    })
    const identities = await dbRows(
      h,
      "select i.issuer, i.subject, u.username from identities i join users u on u.id = i.user_id where u.username = 'admin'",
    )
    expect(identities).toEqual([{ issuer: h.provider.issuer, subject: 'admin', username: 'admin' }])
  })

  it('a later sign-in refreshes names and roles but never the username', async () => {
    await signIn(new TestBrowser(), h, 'alice')
    const alice = h.provider.users.alice!
    Object.assign(alice.claims, {
      preferred_username: 'alice-renamed',
      given_name: 'Alicia',
      family_name: 'Changed',
      email: 'new@example.test',
      roles: ['auditor'],
    })
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    const { body } = await me(browser, h)
    expect(body.user).toEqual({
      username: 'alice',
      firstName: 'Alicia',
      lastName: 'Changed',
      email: 'alice@example.test',
      roles: ['auditor'],
    })
    const roles = await dbRows(h, "select name, system from roles where name = 'auditor'")
    expect(roles).toEqual([{ name: 'auditor', system: 1 }])
  })

  it('refuses a new identity whose username belongs to another account', async () => {
    h.provider.users.mallory = {
      password: 'mallory',
      claims: { preferred_username: 'admin', given_name: 'Mal', roles: ['admin'] },
    }
    const browser = new TestBrowser()
    await expectRefused(
      browser,
      h,
      await signIn(browser, h, 'mallory'),
      409,
      'already belongs to another OTPKI account',
    )
    expect(await dbRows(h, "select cast(count(*) as integer) as n from identities where subject = 'mallory'")).toEqual([
      { n: 0 },
    ])
    expect(h.logs.messages().some((m) => m.includes('USERNAME_TAKEN'))).toBe(true)
  })

  it('gives a fresh session id at every sign-in', async () => {
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    const first = await browser.cookie(h.url, 'otpki_session')
    await signIn(browser, h, 'alice')
    const second = await browser.cookie(h.url, 'otpki_session')
    expect(second).toBeTruthy()
    expect(second).not.toBe(first)
  })

  it('sign-out ends the session for good and ends the provider session too', async () => {
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'admin')
    const sessionCookie = await browser.cookie(h.url, 'otpki_session')
    expect(sessionCookie).toBeTruthy()
    const form = parseForm(page.body, '/auth/sign-out')
    const out = await browser.request(`${h.url}/auth/sign-out`, { form: form.fields })
    expect(out.status).toBe(303)
    const endSession = new URL(out.headers.get('location')!)
    expect(endSession.origin).toBe(h.provider.issuer)
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^ey/)
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${h.url}/auth/signed-out`)
    expect(endSession.searchParams.get('client_id')).toBe('otpki-test')
    expect(endSession.searchParams.get('state')?.length).toBeGreaterThanOrEqual(43)
    expect((await me(browser, h)).status).toBe(401)
    // The old cookie value is dead server-side, not just cleared in the browser.
    const replay = await fetch(`${h.url}/auth/me`, { headers: { cookie: `otpki_session=${sessionCookie}` } })
    expect(replay.status).toBe(401)
    // The provider asks to confirm, then returns to OTPKI's signed-out page.
    const confirm = await browser.follow(endSession.href)
    const logoutForm = parseForm(confirm.body)
    const back = await browser.follow(new URL(logoutForm.action, confirm.url).href, {
      form: { ...logoutForm.fields, logout: 'yes' },
    })
    expect(new URL(back.url).pathname).toBe('/auth/signed-out')
    expect(new URL(back.url).searchParams.get('state')).toBe(endSession.searchParams.get('state'))
    expect(back.body).toContain('You are signed out')
    expect(back.body).toContain('Sign in with Test SSO')
  })

  it('sign-out without a valid CSRF token changes nothing', async () => {
    const browser = new TestBrowser()
    await signIn(browser, h, 'admin')
    const out = await browser.request(`${h.url}/auth/sign-out`, { form: { csrf: 'forged' } })
    expect(out.status).toBe(403)
    expect((await me(browser, h)).status).toBe(200)
  })

  it('starting a sign-in needs the CSRF token of this browser', async () => {
    const attacker = new TestBrowser()
    const page = await attacker.request(`${h.url}/auth/sign-in`)
    const form = parseForm(page.body, '/auth/sign-in')
    const victim = new TestBrowser()
    const res = await victim.request(`${h.url}/auth/sign-in`, { form: form.fields })
    expect(res.status).toBe(403)
    expect(res.body).toContain('expired')
  })

  it('a callback is single-use and bound to the browser that started it', async () => {
    const browser = new TestBrowser()
    const callbackUrl = (await signInUntilCallback(browser, h, 'admin')).href
    const other = new TestBrowser()
    const stolen = await other.request(callbackUrl)
    expect(stolen.status).toBe(400)
    expect(stolen.body).toContain('not valid in this browser')
    const first = await browser.request(callbackUrl)
    expect(first.status).toBe(303)
    const txCookie = 'otpki_tx'
    await browser.jar.setCookie(`${txCookie}=replayed; Path=/`, h.url)
    const replay = await browser.request(callbackUrl)
    expect(replay.status).toBe(400)
  })

  it('takes redirect_uri from configuration, never from Host or X-Forwarded-* headers', async () => {
    const browser = new TestBrowser()
    const res = await browser.request(`${h.url}/auth/sign-in?provider=dev`, {
      headers: { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    })
    const authorize = new URL(res.headers.get('location')!)
    expect(authorize.origin).toBe(h.provider.issuer)
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${h.url}/auth/callback`)
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256')
    for (const p of ['state', 'nonce', 'code_challenge'])
      expect(authorize.searchParams.get(p)?.length).toBeGreaterThanOrEqual(43)
    const spoofedHost = await fetch(`${h.url}/auth/sign-in?provider=dev`, {
      headers: { host: 'evil.example' },
      redirect: 'manual',
    })
    expect(new URL(spoofedHost.headers.get('location')!).searchParams.get('redirect_uri')).toBe(
      `${h.url}/auth/callback`,
    )
  })

  it('refuses a callback whose iss parameter is altered or missing (RFC 9207)', async () => {
    for (const tamper of [
      (u: URL) => u.searchParams.set('iss', 'http://127.0.0.1:1/other'),
      (u: URL) => u.searchParams.delete('iss'),
    ]) {
      const browser = new TestBrowser()
      const callback = await signInUntilCallback(browser, h, 'alice')
      expect(callback.searchParams.get('iss')).toBe(h.provider.issuer)
      tamper(callback)
      const refused = await browser.request(callback.href)
      expect(refused.status).toBe(400)
      expect(refused.body).toContain('could not be verified')
      expect((await me(browser, h)).status).toBe(401)
    }
    expect(h.logs.messages().filter((m) => m.includes('AUTH_RESPONSE_INVALID')).length).toBeGreaterThanOrEqual(2)
  })

  it('returns to a same-origin returnTo only', async () => {
    const ok = new TestBrowser()
    const page = await signIn(ok, h, 'admin', 'admin', { returnTo: '/certificates?x=1' })
    expect(page.url).toBe(`${h.url}/certificates?x=1`)
    for (const evil of ['//evil.example', '/\\evil.example', 'https://evil.example/', '/%2F%2Fevil.example']) {
      const browser = new TestBrowser()
      const res = await signIn(browser, h, 'admin', 'admin', { returnTo: evil })
      expect(res.url, evil).toBe(`${h.url}/`)
    }
  })

  it('a sign-in error page shows no stack, token or secret', async () => {
    const browser = new TestBrowser()
    const res = await browser.request(
      `${h.url}/auth/callback?code=abc&state=xyz&iss=${encodeURIComponent(h.provider.issuer)}`,
    )
    expect(res.status).toBe(400)
    expect(res.body).not.toMatch(/at .*\.ts:\d+|Error:|test-client-secret/)
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
  })
})

describe('provider variations', () => {
  const track = closeAfterEach()
  let h: Harness

  it('refuses a sign-in without a required claim, naming it', async () => {
    h = track(await startHarness())
    h.provider.users.nameless = { password: 'nameless', claims: { given_name: 'No', family_name: 'Name' } }
    const browser = new TestBrowser()
    await expectRefused(
      browser,
      h,
      await signIn(browser, h, 'nameless'),
      400,
      'did not send the &quot;username&quot; or &quot;preferred_username&quot; claim',
    )
    expect(await dbRows(h, 'select cast(count(*) as integer) as n from users')).toEqual([{ n: 0 }])
  })

  it('without an end-session endpoint, sign-out returns to the sign-in page saying so', async () => {
    h = track(await startHarness({ endSession: false }))
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'alice')
    const out = await browser.follow(`${h.url}/auth/sign-out`, { form: parseForm(page.body, '/auth/sign-out').fields })
    expect(out.url).toBe(`${h.url}/auth/signed-out?provider=kept`)
    expect(out.body).toContain('your session there may still be active')
    expect(out.body).toContain('Sign in with Test SSO')
    expect((await me(browser, h)).status).toBe(401)
  })

  it("renders the operator's own templates, falling back to the built-in ones", async () => {
    const templates = await mkdtemp(join(tmpdir(), 'otpki-templates-'))
    await mkdir(join(templates, 'static'))
    await writeFile(
      join(templates, 'error.eta'),
      '<% layout(\'layout\', { title: it.title }) %><h1 id="page-title">ACME: <%= it.title %></h1><p><%= it.message %></p>',
    )
    await writeFile(join(templates, 'static', 'style.css'), 'body { background: papayawhip; }')
    h = track(await startHarness({ overrides: { templatesDir: templates } }))
    const error = await new TestBrowser().request(`${h.url}/auth/callback?state=<script>`)
    expect(error.body).toContain('ACME: Sign-in failed')
    expect(error.body).not.toContain('<script>')
    expect((await new TestBrowser().request(`${h.url}/auth/sign-in`)).body).toContain('Sign in with Test SSO')
    expect((await new TestBrowser().request(`${h.url}/auth/static/style.css`)).body).toContain('papayawhip')
  })
})

describe('sync flags', () => {
  const track = closeAfterEach()
  let h: Harness

  it('createUnknownUsers off refuses a first sign-in with a clear page', async () => {
    h = track(
      await startHarness({
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownUsers: false }) }),
      }),
    )
    const browser = new TestBrowser()
    await expectRefused(browser, h, await signIn(browser, h, 'alice'), 403, 'There is no OTPKI account for you yet')
    expect(await dbRows(h, 'select cast(count(*) as integer) as n from users')).toEqual([{ n: 0 }])
  })

  it('createUnknownRoles off ignores unknown role names; on creates them as system roles', async () => {
    h = track(await startHarness({ providers: ({ providerJson }) => ({ 'dev.json': providerJson() }) }))
    const browser = new TestBrowser()
    await signIn(browser, h, 'admin')
    expect((await me(browser, h)).body.user.roles).toEqual([])
    expect(await dbRows(h, 'select cast(count(*) as integer) as n from roles')).toEqual([{ n: 0 }])
    await h.writeProvider('dev.json', h.providerJson({ createUnknownRoles: true }))
    const again = new TestBrowser()
    await signIn(again, h, 'admin')
    expect((await me(again, h)).body.user.roles).toEqual(['admin'])
    expect(await dbRows(h, 'select name, system from roles')).toEqual([{ name: 'admin', system: 1 }])
  })

  it('works with client_secret_post', async () => {
    h = track(
      await startHarness({
        tokenEndpointAuthMethod: 'client_secret_post',
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ clientAuthentication: 'client_secret_post' }) }),
      }),
    )
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'alice')
    expect(page.status).toBe(200)
    expect((await me(browser, h)).body.user.username).toBe('alice')
  })
})

describe('session expiry (injected clock)', () => {
  let h: Harness
  const clock = new ManualClock(Date.now())
  beforeAll(async () => {
    h = await startHarness({
      clock,
      users: demoUsers(),
      providers: ({ providerJson }) => ({
        'dev.json': providerJson({ sessionMaxInactive: '10m', sessionMaxLength: '1h' }),
      }),
    })
  })
  afterAll(() => h?.close())
  const minutes = (n: number) => n * 60_000

  it('ends a session idle for longer than sessionMaxInactive', async () => {
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    clock.advance(minutes(9))
    expect((await me(browser, h)).status).toBe(200)
    clock.advance(minutes(9))
    expect((await me(browser, h)).status).toBe(200)
    // 29 minutes after sign-in: far from the absolute limit, but idle for 11.
    clock.advance(minutes(11))
    expect((await me(browser, h)).status).toBe(401)
    // Gone from the database too.
    expect(await dbRows(h, 'select cast(count(*) as integer) as n from sessions')).toEqual([{ n: 0 }])
  })

  it('ends a session at sessionMaxLength however active it is', async () => {
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    const body = (await me(browser, h)).body
    expect(Date.parse(body.session.expiresAt)).toBe(clock.now() + minutes(10))
    for (let i = 0; i < 6; i++) {
      clock.advance(minutes(9))
      expect((await me(browser, h)).status).toBe(200)
    }
    // Never idle for more than 9 minutes, but 63 minutes after sign-in.
    clock.advance(minutes(9))
    expect((await me(browser, h)).status).toBe(401)
  })
})
