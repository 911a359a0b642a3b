import { describe, expect, it } from 'vitest'
import passkeyPlugin from '../../../plugins/passkey/index.ts'
import { TestBrowser, parseForm } from '../../support/browser.ts'
import { CLIENT, closeAfterEach, me, signIn, startHarness, type Harness } from '../../support/harness.ts'
import { joseHarness } from '../../support/jose-provider.ts'
import { testDatabases } from '../../support/postgres.ts'
import { SoftAuthenticator, type Tampering } from '../../support/soft-authenticator.ts'

const USERS = {
  alice: { password: 'alice', claims: { preferred_username: 'alice', given_name: 'Alice', roles: ['staff'] } },
  admin: { password: 'admin', claims: { preferred_username: 'admin', roles: ['admin'] } },
  guest: { password: 'guest', claims: { preferred_username: 'guest', roles: ['guest'] } },
}

/** A browser for OTPKI at localhost (a WebAuthn relying party needs a domain, not an address). */
const browser = () => new TestBrowser({ localhost: '127.0.0.1' })

const json = (body: unknown) => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'application/json' },
})

/** Registers a passkey for the browser's signed-in user; answers the response. */
async function register(
  b: TestBrowser,
  h: Harness,
  key: SoftAuthenticator,
  tampering: Tampering = {},
  name = 'Laptop',
) {
  const options = await b.request(`${h.url}/auth/passkeys/options`, json({}))
  expect(options.status, options.body).toBe(200)
  const { challenge } = JSON.parse(options.body) as { challenge: string }
  return b.request(`${h.url}/auth/passkeys`, json({ name, credential: key.register(challenge, tampering) }))
}

/** Starts a passkey sign-in from the sign-in page: the ceremony page's challenge. */
async function startPasskeySignIn(b: TestBrowser, h: Harness): Promise<string> {
  const page = await b.request(`${h.url}/auth/sign-in`)
  expect(page.body).toContain('Sign in with a passkey')
  const form = parseForm(page.body.slice(page.body.indexOf('<div class="own-buttons">')), '/auth/sign-in')
  expect(form.fields.provider).toBe('passkey')
  const started = await b.request(`${h.url}/auth/sign-in`, { form: form.fields })
  expect(started.status).toBe(303)
  const ceremony = new URL(started.headers.get('location')!, h.url)
  expect(ceremony.pathname).toBe('/auth/passkeys/sign-in')
  const shown = await b.request(ceremony.href)
  expect(shown.status).toBe(200)
  expect(shown.headers.get('content-security-policy')).toContain("script-src 'self'")
  return ceremony.searchParams.get('challenge')!
}

/** Posts an assertion to the callback, as the ceremony page does. */
const post = (b: TestBrowser, h: Harness, credential: unknown) =>
  b.request(`${h.url}/auth/callback`, { form: { credential: JSON.stringify(credential) } })

describe.each(testDatabases())('passkeys (%s)', (database) => {
  const track = closeAfterEach()
  const start = (passkeys: Record<string, unknown> = {}) =>
    startHarness({
      users: USERS,
      hostname: 'localhost',
      database,
      providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
      overrides: { plugins: [passkeyPlugin], passkeys, adminRoles: ['admin'] },
    })

  it('registers a passkey for a signed-in user and signs in with it, with every sign-in check passed', async () => {
    const h = track(await start())
    const key = new SoftAuthenticator('localhost', h.url)
    const b = browser()
    expect((await signIn(b, h, 'alice')).status).toBe(200)
    const home = await b.request(`${h.url}/`)
    expect(home.body).toContain('href="/auth/passkeys"')
    const manage = await b.request(`${h.url}/auth/passkeys`)
    expect(manage.status).toBe(200)
    expect(manage.body).toContain('You have no passkey yet')
    const registered = await register(b, h, key, {}, 'Work laptop')
    expect(registered.status, registered.body).toBe(201)
    expect(JSON.parse(registered.body).passkey).toMatchObject({ id: key.id, name: 'Work laptop', lastUsedAt: null })

    // A new browser, with the only identity provider unreachable: the passkey still signs alice in.
    await h.removeProvider('dev.json')
    await h.writeProvider('down.json', h.providerJson({ issuer: 'http://127.0.0.1:9/down' }))
    const other = browser()
    const page = await other.request(`${h.url}/auth/sign-in`)
    expect(page.body).toMatch(/<button type="submit" class="primary" disabled[^>]*>Sign in with Test SSO/)
    expect(page.body).toMatch(/<button type="submit" class="secondary" data-provider="passkey">Sign in with a passkey/)
    const challenge = await startPasskeySignIn(other, h)
    const answer = await post(other, h, key.assert(challenge))
    expect(answer.status, answer.body).toBe(303)
    expect(answer.headers.get('location')).toBe('/')
    const who = await me(other, h)
    expect(who.status).toBe(200)
    expect(who.body).toMatchObject({
      user: { username: 'alice', firstName: 'Alice', roles: ['staff'] },
      method: 'passkey',
      provider: 'passkey',
    })
    // Forward authentication and metrics see it as any other session.
    const verified = await other.request(`${h.url}/auth/verify`)
    expect(verified.status).toBe(200)
    expect(verified.headers.get('x-auth-request-user')).toBe('alice')
    expect(verified.headers.get('x-auth-request-method')).toBe('passkey')
    expect(verified.headers.get('x-auth-request-provider')).toBe('passkey')
    const metrics = await (await fetch(`http://127.0.0.1:${new URL(h.url).port}/metrics`)).text()
    expect(metrics).toMatch(/otpki_sign_ins_total\{[^}]*provider="passkey"[^}]*\} 1/)
    const listed = await other.request(`${h.url}/auth/passkeys`)
    expect(listed.body).toContain('Work laptop')
    expect(listed.body).not.toContain('>never<')
    const audit = await h.app.orm.em
      .fork()
      .getConnection()
      .execute("select kind, outcome, method, username from audit_events where kind = 'sign-in' and method = 'passkey'")
    expect(audit).toEqual([{ kind: 'sign-in', outcome: 'success', method: 'passkey', username: 'alice' }])
  })

  it('refuses an assertion for another origin or relying party, without user verification, or of another ceremony', async () => {
    const h = track(await start())
    const key = new SoftAuthenticator('localhost', h.url)
    const b = browser()
    await signIn(b, h, 'alice')
    expect((await register(b, h, key)).status).toBe(201)

    const refusedWith = async (tampering: Tampering, expected: RegExp) => {
      const c = browser()
      const challenge = await startPasskeySignIn(c, h)
      const answer = await post(c, h, key.assert(challenge, tampering))
      expect(answer.status, JSON.stringify(tampering)).toBeGreaterThanOrEqual(400)
      expect((await me(c, h)).status).toBe(401)
      expect(h.logs.lines.map((l) => String(l.msg)).join('\n')).toMatch(expected)
    }
    await refusedWith({ origin: 'http://evil.localhost:1' }, /Unexpected authentication response origin/)
    await refusedWith({ rpId: 'evil.test' }, /Unexpected RP ID hash/)
    await refusedWith({ userVerified: false }, /[Uu]ser verification/)
    await refusedWith({ type: 'webauthn.create' }, /Unexpected authentication response type/)

    // The user handle a discoverable credential answers with must be the one it was registered for.
    const handled = browser()
    const handledChallenge = await startPasskeySignIn(handled, h)
    expect(
      (await post(handled, h, key.assert(handledChallenge, {}, 'c29tZW9uZS1lbHNl'))).status,
    ).toBeGreaterThanOrEqual(400)
    expect((await me(handled, h)).status).toBe(401)
    expect(h.logs.lines.map((l) => String(l.msg)).join('\n')).toMatch(/answered for another user handle/)
    const stored = await h.app.orm.em
      .fork()
      .getConnection()
      .execute<{ user_handle: string }[]>('select user_handle from passkeys')
    expect(stored).toHaveLength(1)
    const userHandle = String(stored[0]?.user_handle)
    const own = browser()
    const ownChallenge = await startPasskeySignIn(own, h)
    expect((await post(own, h, key.assert(ownChallenge, {}, userHandle))).status).toBe(303)
    expect((await me(own, h)).status).toBe(200)

    // A challenge from another browser's sign-in does not finish this one.
    const first = browser()
    const second = browser()
    const firstChallenge = await startPasskeySignIn(first, h)
    await startPasskeySignIn(second, h)
    expect((await post(second, h, key.assert(firstChallenge))).status).toBeGreaterThanOrEqual(400)
    expect((await me(second, h)).status).toBe(401)

    // A replayed assertion: not with its own (used) sign-in, nor with a new one.
    const c = browser()
    const challenge = await startPasskeySignIn(c, h)
    const assertion = key.assert(challenge)
    expect((await post(c, h, assertion)).status).toBe(303)
    const d = browser()
    expect((await post(d, h, assertion)).status).toBeGreaterThanOrEqual(400)
    await startPasskeySignIn(d, h)
    expect((await post(d, h, assertion)).status).toBeGreaterThanOrEqual(400)
    expect((await me(d, h)).status).toBe(401)
  })

  it('refuses a counter that goes backwards (a cloned authenticator), a removed passkey and a disabled user', async () => {
    const h = track(await start())
    const key = new SoftAuthenticator('localhost', h.url)
    const b = browser()
    await signIn(b, h, 'alice')
    expect((await register(b, h, key)).status).toBe(201)
    const signInWith = async (tampering: Tampering = {}) => {
      const c = browser()
      const answer = await post(c, h, key.assert(await startPasskeySignIn(c, h), tampering))
      return { answer, me: await me(c, h) }
    }
    expect((await signInWith()).me.status).toBe(200)
    expect((await signInWith()).me.status).toBe(200)
    // A copy of the key that signed less often than the original.
    const clone = await signInWith({ counter: 1 })
    expect(clone.me.status).toBe(401)
    expect(clone.answer.body).toContain('it may have been copied')
    expect(h.logs.lines.some((l) => /may have been cloned/.test(String(l.msg)) && l.level === 40)).toBe(true)

    const user = (await h.app.users.findByUsername('alice'))!
    await h.app.users.setDisabled(user.id, true)
    const disabled = await signInWith()
    expect(disabled.me.status).toBe(401)
    expect(disabled.answer.body).toContain('Your OTPKI account is disabled')
    await h.app.users.setDisabled(user.id, false)
    expect((await signInWith()).me.status).toBe(200)

    const removed = await b.request(`${h.url}/auth/passkeys/${key.id}`, {
      method: 'DELETE',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    expect(removed.status, removed.body).toBe(200)
    const after = await signInWith()
    expect(after.me.status).toBe(401)
    expect(after.answer.body).toContain('not registered with OTPKI')
  })

  it('registration: the challenge is single-use and the user’s own, the origin and RP ID are checked, registerRoles applies', async () => {
    const h = track(await start({ registerRoles: ['staff', 'admin'] }))
    const alice = browser()
    const admin = browser()
    await signIn(alice, h, 'alice')
    await signIn(admin, h, 'admin')
    const key = new SoftAuthenticator('localhost', h.url)
    const refused = async (tampering: Tampering, reason: RegExp) => {
      const answer = await register(alice, h, key, tampering)
      expect(answer.status).toBeGreaterThanOrEqual(400)
      expect(JSON.parse(answer.body).message).toMatch(reason)
    }
    await refused({ origin: 'http://evil.localhost:1' }, /origin/)
    await refused({ rpId: 'evil.test' }, /RP ID/)
    await refused({ userVerified: false }, /verif/i)

    // Admin's challenge, answered in alice's session.
    const options = JSON.parse((await admin.request(`${h.url}/auth/passkeys/options`, json({}))).body)
    const stolen = await alice.request(`${h.url}/auth/passkeys`, json({ credential: key.register(options.challenge) }))
    expect(stolen.status).toBe(401)
    expect(JSON.parse(stolen.body).message).toContain('not started here')
    // A challenge used once is used.
    const own = JSON.parse((await alice.request(`${h.url}/auth/passkeys/options`, json({}))).body)
    const credential = key.register(own.challenge)
    expect((await alice.request(`${h.url}/auth/passkeys`, json({ credential }))).status).toBe(201)
    expect((await alice.request(`${h.url}/auth/passkeys`, json({ credential }))).status).toBe(401)
    // A user keeps a few registrations pending at most: the oldest is replaced.
    const first = JSON.parse((await alice.request(`${h.url}/auth/passkeys/options`, json({}))).body)
    for (let i = 0; i < 5; i++) await alice.request(`${h.url}/auth/passkeys/options`, json({}))
    const replaced = await alice.request(
      `${h.url}/auth/passkeys`,
      json({ credential: new SoftAuthenticator('localhost', h.url).register(first.challenge) }),
    )
    expect(replaced.status).toBe(401)
    const [pending] = (await h.app.orm.em
      .fork()
      .getConnection()
      .execute('select count(*) as n from passkey_challenges')) as { n: number | string }[]
    // Alice's five, and the administrator's one.
    expect(Number(pending!.n)).toBe(6)
    // The second passkey's options exclude the first.
    const again = JSON.parse((await alice.request(`${h.url}/auth/passkeys/options`, json({}))).body)
    expect(again.excludeCredentials).toEqual([expect.objectContaining({ id: key.id })])
    expect(again.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' })
    expect(again.rp).toEqual({ name: 'OTPKI', id: 'localhost' })
    expect(again.attestation).toBe('none')

    // A cross-site request is refused; a user outside registerRoles may not register.
    const crossSite = await alice.request(`${h.url}/auth/passkeys/options`, {
      ...json({}),
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
    })
    expect(crossSite.status).toBe(403)
    const guest = browser()
    await signIn(guest, h, 'guest')
    expect((await guest.request(`${h.url}/auth/passkeys/options`, json({}))).status).toBe(403)
    expect((await guest.request(`${h.url}/auth/passkeys`)).body).toContain(
      'Your roles do not allow registering passkeys',
    )
    expect((await guest.request(`${h.url}/`)).body).not.toContain('href="/auth/passkeys"')
    // Signed out, the page sends to the sign-in page and the API refuses.
    const anonymous = browser()
    const page = await anonymous.request(`${h.url}/auth/passkeys`)
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toBe('/auth/sign-in?returnTo=%2Fauth%2Fpasskeys')
    expect((await anonymous.request(`${h.url}/auth/passkeys/options`, json({}))).status).toBe(401)
  })

  it('requireForRoles: a member without a passkey is sent to register one right after signing in, then on', async () => {
    const h = track(await start({ requireForRoles: ['admin'] }))
    const admin = browser()
    const landed = await signIn(admin, h, 'admin', 'admin', { returnTo: '/admin/users' })
    expect(landed.url).toBe(`${h.url}/auth/passkeys?returnTo=%2Fadmin%2Fusers`)
    expect(landed.body).toContain('Your account needs a passkey')
    expect(landed.body).toMatch(
      /<a href="\/admin\/users" class="button secondary" data-field="continue">Not now, continue<\/a>/,
    )
    expect(landed.body).toContain('data-return-to="/admin/users"')
    expect((await admin.request(`${h.url}/`)).body).toContain('Required for your account: register one')
    // Someone outside the roles goes where they were going.
    const alice = browser()
    expect((await signIn(alice, h, 'alice', 'alice', { returnTo: '/?from=x' })).url).toBe(`${h.url}/?from=x`)
    // Registered, the administrator's next sign-in goes straight on.
    expect((await register(admin, h, new SoftAuthenticator('localhost', h.url))).status).toBe(201)
    const again = await signIn(browser(), h, 'admin', 'admin', { returnTo: '/admin/users' })
    expect(again.url).toBe(`${h.url}/admin/users`)
    // Only a path of OTPKI's is offered to continue to.
    const odd = await admin.request(`${h.url}/auth/passkeys?returnTo=${encodeURIComponent('//evil.example/x')}`)
    expect(odd.body).not.toContain('evil.example')
  })

  it('administrators list and revoke a user’s passkeys; the lock-out check counts an administrator’s passkey', async () => {
    const h = track(await start())
    const alice = browser()
    const admin = browser()
    await signIn(alice, h, 'alice')
    await signIn(admin, h, 'admin')
    const key = new SoftAuthenticator('localhost', h.url)
    expect((await register(alice, h, key)).status).toBe(201)
    const listed = await admin.request(`${h.url}/admin/users/alice/passkeys`)
    expect(JSON.parse(listed.body).passkeys).toEqual([expect.objectContaining({ id: key.id, name: 'Laptop' })])
    expect((await alice.request(`${h.url}/admin/users/alice/passkeys`)).status).toBe(403)
    const users = JSON.parse((await admin.request(`${h.url}/admin/users`)).body).users as {
      username: string
      passkeys: number
    }[]
    expect(users.find((u) => u.username === 'alice')?.passkeys).toBe(1)
    const revoked = await admin.request(`${h.url}/admin/users/alice/passkeys/${key.id}`, {
      method: 'DELETE',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    expect(revoked.status).toBe(200)
    expect(JSON.parse((await admin.request(`${h.url}/admin/users/alice/passkeys`)).body).passkeys).toEqual([])
    const c = browser()
    await post(c, h, key.assert(await startPasskeySignIn(c, h)))
    expect((await me(c, h)).status).toBe(401)
    const entries = await h.app.orm.em
      .fork()
      .getConnection()
      .execute("select actor, reason from audit_events where reason like 'passkey.%' order by id")
    expect(entries).toEqual([
      { actor: 'alice', reason: 'passkey.register' },
      { actor: 'admin', reason: 'passkey.remove' },
    ])
  })
})

describe('passkeys and other credentials', () => {
  const track = closeAfterEach()

  it('a bearer token is a signed-in user, but cannot see or add passkeys: only a browser session manages them', async () => {
    const { jose, h } = await joseHarness(
      track,
      {},
      {
        behaviour: { claims: { sub: 'robot-1', preferred_username: 'robot' } },
        harness: { hostname: 'localhost', overrides: { plugins: [passkeyPlugin] } },
      },
    )
    const challenges = async () => {
      const rows = await h.app.orm.em
        .fork()
        .getConnection()
        .execute<{ n: number | string }[]>('select count(*) as n from passkey_challenges')
      return Number(rows[0]?.n)
    }
    const token = await jose.accessToken(CLIENT.clientId, { preferred_username: 'robot' })
    const bearer = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    expect((await fetch(`${h.url}/auth/me`, { headers: bearer })).status).toBe(200)
    const options = await fetch(`${h.url}/auth/passkeys/options`, { method: 'POST', body: '{}', headers: bearer })
    expect(options.status).toBe(401)
    expect(await options.text()).toContain('passkeys are managed from a signed-in browser')
    const key = new SoftAuthenticator('localhost', h.url)
    const added = await fetch(`${h.url}/auth/passkeys`, {
      method: 'POST',
      body: JSON.stringify({ name: 'Robot', credential: key.register('AAAA') }),
      headers: bearer,
    })
    expect(added.status).toBe(401)
    const page = await fetch(`${h.url}/auth/passkeys`, { headers: bearer, redirect: 'manual' })
    expect(page.status).toBe(303)
    expect(page.headers.get('location')).toContain('/auth/sign-in')
    expect(await challenges()).toBe(0)

    // A bearer token beside a browser session's cookie is still the bearer token: refused too.
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    const cookie = `otpki_session=${await browser.cookie(h.url, 'otpki_session')}`
    expect((await fetch(`${h.url}/auth/passkeys`, { headers: { cookie } })).status).toBe(200)
    const mixed = await fetch(`${h.url}/auth/passkeys/options`, {
      method: 'POST',
      body: '{}',
      headers: { ...bearer, cookie, origin: h.url },
    })
    expect(mixed.status).toBe(401)
    expect(await challenges()).toBe(0)
  })
})
