import { testDatabases } from '../../support/postgres.ts'
import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../../../core/clock.ts'
import { startDevProvider, type DevProvider } from '../../../plugins/dev-provider/dev-provider.ts'
import { TestBrowser, parseForm } from '../../support/browser.ts'
import { CLIENT, closeAfterEach, me, signIn, startHarness, type Harness } from '../../support/harness.ts'
import { JoseProvider, newKey } from '../../support/jose-provider.ts'

const rows = (h: Harness, sql: string) =>
  h.app.orm.em.fork().getConnection().execute(sql) as Promise<Record<string, unknown>[]>

describe.each(testDatabases())('account linking (%s)', (database) => {
  const track = closeAfterEach()
  let h: Harness
  let partner: DevProvider

  it('a signed-in user links an identity from a linking-only provider; it never signs in or merges accounts', async () => {
    h = track(await startHarness({ database }))
    partner = track(
      await startDevProvider({
        port: 0,
        clients: [{ ...CLIENT, redirectUris: [`${h.url}/auth/callback`], postLogoutRedirectUris: [] }],
        users: { 'alice-at-partner': { password: 'pw', claims: { preferred_username: 'alice.partner' } } },
      }),
    )
    await h.writeProvider(
      'partner.json',
      JSON.stringify({
        displayName: 'Partner IdP',
        issuer: partner.issuer,
        clientId: CLIENT.clientId,
        clientSecret: CLIENT.clientSecret,
        accountLinkingOnly: true,
      }),
    )
    expect((await new TestBrowser().request(`${h.url}/auth/sign-in`)).body).not.toContain('Partner IdP')

    const alice = new TestBrowser()
    const home = await signIn(alice, h, 'alice')
    const form = parseForm(home.body, '/auth/link')
    expect(home.body).toContain('<option value="partner">Partner IdP</option>')
    const start = await alice.request(`${h.url}/auth/link`, { form: { ...form.fields, provider: 'partner' } })
    expect(new URL(start.headers.get('location')!).origin).toBe(partner.issuer)
    const login = await alice.follow(start.headers.get('location')!)
    const loginForm = parseForm(login.body, '/login')
    const done = await alice.follow(new URL(loginForm.action, login.url).href, {
      form: { ...loginForm.fields, username: 'alice-at-partner', password: 'pw' },
    })
    expect(done.url).toBe(`${h.url}/?linked=partner`)
    expect(done.body).toContain('Your Partner IdP account is now linked.')
    expect(
      await rows(
        h,
        "select i.provider, i.subject from identities i join users u on u.id = i.user_id where u.username = 'alice' order by i.id",
      ),
    ).toEqual([
      { provider: 'dev', subject: 'alice' },
      { provider: 'partner', subject: 'alice-at-partner' },
    ])
    // The linked identity still cannot sign in through the linking-only provider.
    expect((await new TestBrowser().request(`${h.url}/auth/sign-in?provider=partner`)).status).toBe(403)

    // Another account cannot take the identity over: never merged.
    const admin = new TestBrowser()
    const adminHome = await signIn(admin, h, 'admin')
    const adminStart = await admin.request(`${h.url}/auth/link`, {
      form: { ...parseForm(adminHome.body, '/auth/link').fields, provider: 'partner' },
    })
    const adminLogin = await admin.follow(adminStart.headers.get('location')!)
    const adminForm = parseForm(adminLogin.body, '/login')
    const refused = await admin.follow(new URL(adminForm.action, adminLogin.url).href, {
      form: { ...adminForm.fields, username: 'alice-at-partner', password: 'pw' },
    })
    expect(refused.status).toBe(409)
    expect(refused.body).toContain('already linked to another OTPKI account')
    expect(
      await rows(h, "select cast(count(*) as integer) as n from identities where subject = 'alice-at-partner'"),
    ).toEqual([{ n: 1 }])
    expect((await me(admin, h)).body.user.username).toBe('admin')
  })

  it('linking needs a session and the form token', async () => {
    h = track(await startHarness({ database }))
    expect(
      (await new TestBrowser().request(`${h.url}/auth/link`, { form: { provider: 'dev', csrf: 'x' } })).status,
    ).toBe(401)
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    expect((await browser.request(`${h.url}/auth/link`, { form: { provider: 'dev', csrf: 'forged' } })).status).toBe(
      403,
    )
  })
})

describe.each(testDatabases())('stored tokens (%s)', (database) => {
  const track = closeAfterEach()
  let h: Harness

  it('storeTokens keeps them encrypted; storedTokensReadable serves them, refreshed when expired', async () => {
    const clock = new ManualClock(Date.now())
    h = track(
      await startHarness({
        database,
        clock,
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ storeTokens: true, sessionMaxInactive: '1d', sessionMaxLength: '2d' }),
        }),
      }),
    )
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    expect((await browser.request(`${h.url}/auth/tokens`)).status).toBe(403)
    const [row] = await rows(h, 'select tokens, id_token from sessions')
    expect(String(row!.tokens)).toMatch(/^v2\./)
    expect(String(row!.id_token)).toMatch(/^v2\./)

    await h.writeProvider(
      'dev.json',
      h.providerJson({
        storeTokens: true,
        storedTokensReadable: true,
        sessionMaxInactive: '1d',
        sessionMaxLength: '2d',
      }),
    )
    const first = JSON.parse((await browser.request(`${h.url}/auth/tokens`)).body) as Record<string, string>
    expect(first).toMatchObject({
      tokenType: 'Bearer',
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      idToken: expect.stringMatching(/^ey/),
    })
    expect(String(row!.tokens)).not.toContain(first.accessToken)
    // Before expiry the same token comes back; after it, a refreshed one.
    expect(JSON.parse((await browser.request(`${h.url}/auth/tokens`)).body).accessToken).toBe(first.accessToken)
    clock.advance(2 * 3600_000)
    const refreshed = JSON.parse((await browser.request(`${h.url}/auth/tokens`)).body) as Record<string, string>
    expect(refreshed.accessToken).not.toBe(first.accessToken)
    expect(Date.parse(refreshed.expiresAt!)).toBeGreaterThan(clock.now())
  })
})

describe.each(testDatabases())('back-channel logout (%s)', (database) => {
  const track = closeAfterEach()
  let h: Harness

  const backchannel = (h: Harness, body: string) =>
    fetch(`${h.url}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })

  it('a logout at the provider ends the OTPKI session', async () => {
    h = track(
      await startHarness({
        database,
        client: (url) => ({ backchannelLogoutUri: `${url}/auth/backchannel-logout` }),
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ backchannelLogout: true }) }),
      }),
    )
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    expect((await me(browser, h)).status).toBe(200)
    const [row] = await rows(h, 'select sid from sessions')
    expect(row!.sid).toEqual(expect.any(String))
    // The user signs out at the provider itself (not through OTPKI).
    const confirm = await browser.follow(`${h.provider.issuer}/session/end`)
    const form = parseForm(confirm.body)
    await browser.follow(new URL(form.action, confirm.url).href, { form: { ...form.fields, logout: 'yes' } })
    await h.logs.waitFor((l) => l.msg === 'back-channel logout')
    expect((await me(browser, h)).status).toBe(401)
    expect(await rows(h, 'select cast(count(*) as integer) as n from sessions')).toEqual([{ n: 0 }])
  })

  describe('refused logout tokens: 400, no-store, and no session ends', () => {
    let jose: JoseProvider
    let h: Harness
    let browser: TestBrowser
    beforeAll(async () => {
      jose = await JoseProvider.start('jose-client', 'jose-secret')
      h = await startHarness({
        database,
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ backchannelLogout: true }),
          'jose.json': JSON.stringify({
            issuer: jose.issuer,
            clientId: 'jose-client',
            clientSecret: 'jose-secret',
            backchannelLogout: true,
          }),
        }),
      })
      browser = new TestBrowser()
      await signIn(browser, h, 'alice', 'alice', { provider: 'dev' })
      return async () => {
        await h.close()
        await jose.close()
      }
    })
    const now = () => Math.floor(Date.now() / 1000)
    const event = { 'http://schemas.openid.net/event/backchannel-logout': {} }
    const valid = () => ({
      iss: jose.issuer,
      aud: 'jose-client',
      iat: now(),
      exp: now() + 120,
      jti: randomUUID(),
      sub: 'alice',
      events: event,
    })
    const cases: [string, () => Promise<string> | string][] = [
      ['not a JWT', () => 'garbage'],
      ['no events', () => jose.sign({ ...valid(), events: undefined }, { typ: 'logout+jwt' })],
      [
        'an events claim without the logout event',
        () => jose.sign({ ...valid(), events: { other: {} } }, { typ: 'logout+jwt' }),
      ],
      ['a nonce', () => jose.sign({ ...valid(), nonce: 'n' }, { typ: 'logout+jwt' })],
      ['no sub or sid', () => jose.sign({ ...valid(), sub: undefined }, { typ: 'logout+jwt' })],
      ['a wrong typ', () => jose.sign(valid(), { typ: 'JWT+id' })],
      ['a wrong audience', () => jose.sign({ ...valid(), aud: 'someone' }, { typ: 'logout+jwt' })],
      ['no iat', () => jose.sign({ ...valid(), iat: undefined }, { typ: 'logout+jwt' })],
      ['expired', () => jose.sign({ ...valid(), iat: now() - 900, exp: now() - 600 }, { typ: 'logout+jwt' })],
      ['an unknown key', async () => jose.sign(valid(), { typ: 'logout+jwt', key: await newKey() })],
      [
        "another provider's issuer, signed by this one",
        () => jose.sign({ ...valid(), iss: h.provider.issuer, aud: CLIENT.clientId }, { typ: 'logout+jwt' }),
      ],
      [
        'an issuer that is no provider',
        () => jose.sign({ ...valid(), iss: 'https://nobody.example' }, { typ: 'logout+jwt' }),
      ],
    ]
    it.each(cases)('%s', async (_name, token) => {
      const res = await backchannel(h, `logout_token=${await token()}`)
      expect(res.status).toBe(400)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(
        h.logs
          .messages()
          .filter((m) => m !== 'request')
          .at(-1),
      ).toMatch(/back-channel logout refused/)
      expect((await me(browser, h)).status).toBe(200)
    })
    it('no logout_token at all', async () => {
      expect((await backchannel(h, '')).status).toBe(400)
    })
    it("a valid token from one provider never ends another provider's sessions", async () => {
      // Valid for the jose provider, naming a subject that also exists at dev: dev's session stays.
      const ok = await backchannel(h, `logout_token=${await jose.sign(valid(), { typ: 'logout+jwt' })}`)
      expect(ok.status).toBe(200)
      expect(ok.headers.get('cache-control')).toBe('no-store')
      expect((await me(browser, h)).status).toBe(200)
    })
  })
})

describe.each(testDatabases())('bearer tokens (%s)', (database) => {
  const track = closeAfterEach()
  let h: Harness
  let jose: JoseProvider

  it('an opaque access token is introspected at the provider that issued it', async () => {
    h = track(
      await startHarness({
        database,
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ storeTokens: true, storedTokensReadable: true }),
        }),
      }),
    )
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    const { accessToken, idToken } = JSON.parse((await browser.request(`${h.url}/auth/tokens`)).body) as {
      accessToken: string
      idToken: string
    }
    const api = new TestBrowser()
    const before = await me(api, h, accessToken)
    expect(before.status).toBe(401)
    expect(before.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/)

    await h.writeProvider(
      'dev.json',
      h.providerJson({ storeTokens: true, storedTokensReadable: true, introspectTokens: true }),
    )
    const ok = await me(api, h, accessToken)
    expect(ok).toMatchObject({
      status: 200,
      body: { user: { username: 'alice' }, method: 'bearer', provider: 'dev', session: null },
    })
    expect(await api.cookie(h.url, 'otpki_session')).toBeUndefined()
    // An ID token is not an access token; neither is garbage.
    for (const token of [idToken, 'not-a-token', `${accessToken}x`]) {
      const refused = await me(api, h, token)
      expect(refused.status, token.slice(0, 12)).toBe(401)
      expect(refused.headers.get('www-authenticate')).toContain('invalid_token')
    }
  })

  it('an accepted token is cached, but never past its expiry', async () => {
    const clock = new ManualClock(Date.now())
    jose = track(await JoseProvider.start('api-client', 'api-secret'))
    h = track(
      await startHarness({
        database,
        clock,
        providers: () => ({
          'jose.json': JSON.stringify({ issuer: jose!.issuer, clientId: 'api-client', clientSecret: 'api-secret' }),
        }),
      }),
    )
    const api = new TestBrowser()
    const token = await jose.accessToken('api-client', { preferred_username: 'robot' }, 20)
    expect((await me(api, h, token)).status).toBe(200)
    // Signed by a key the provider no longer publishes: only the cache can answer now.
    jose.keys.splice(0, jose.keys.length, await newKey())
    clock.advance(10_000)
    expect((await me(api, h, token)).status).toBe(200)
    // 25 s: well within the cache's minute, but past the token's own expiry.
    clock.advance(15_000)
    expect((await me(api, h, token)).status).toBe(401)
  })

  it('a cached bearer principal follows the user: a sign-in that changes the roles shows at once', async () => {
    h = track(
      await startHarness({
        database,
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({
            storeTokens: true,
            storedTokensReadable: true,
            introspectTokens: true,
            createUnknownRoles: true,
          }),
        }),
      }),
    )
    h.provider.users.alice!.claims.roles = ['reader']
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    const { accessToken } = JSON.parse((await browser.request(`${h.url}/auth/tokens`)).body) as { accessToken: string }
    const api = new TestBrowser()
    expect((await me(api, h, accessToken)).body.user.roles).toEqual(['reader'])
    h.provider.users.alice!.claims.roles = ['writer']
    await signIn(new TestBrowser(), h, 'alice')
    expect((await me(api, h, accessToken)).body.user.roles).toEqual(['writer'])
  })

  it('a JWT access token is verified with its provider’s keys; expired, foreign, mis-addressed or unknown-key tokens are refused', async () => {
    const clock = new ManualClock(Date.now())
    jose = track(await JoseProvider.start('api-client', 'api-secret'))
    h = track(
      await startHarness({
        database,
        clock,
        providers: ({ providerJson }) => ({
          'dev.json': providerJson(),
          'jose.json': JSON.stringify({
            issuer: jose!.issuer,
            clientId: 'api-client',
            clientSecret: 'api-secret',
            bearerAudience: ['https://otpki.example/api'],
          }),
        }),
      }),
    )
    const api = new TestBrowser()
    const aud = 'https://otpki.example/api'
    jose.behaviour.claims = { sub: 'robot-1', preferred_username: 'robot' }
    const good = await jose.accessToken(aud, { preferred_username: 'robot' })
    expect(await me(api, h, good)).toMatchObject({
      status: 200,
      body: { user: { username: 'robot' }, method: 'bearer', provider: 'jose', session: null },
    })

    const other = await JoseProvider.start('api-client', 'api-secret')
    try {
      const refusals: [string, string][] = [
        ['expired', await jose.accessToken(aud, {}, -120)],
        ['wrong audience', await jose.accessToken('https://elsewhere.example')],
        ['foreign issuer', await other.accessToken(aud)],
        ['issuer claimed, signed elsewhere', await other.accessToken(aud, { iss: jose.issuer })],
        [
          'an ID token',
          await jose.sign({
            iss: jose.issuer,
            sub: 'robot-1',
            aud,
            nonce: 'n',
            iat: Math.floor(Date.now() / 1000),
            exp: Math.floor(Date.now() / 1000) + 60,
          }),
        ],
      ]
      for (const [name, token] of refusals) expect((await me(api, h, token)).status, name).toBe(401)
    } finally {
      await other.close()
    }

    // A flood of unknown kids is not a flood of JWKS fetches.
    const fetches = jose.jwksFetches
    clock.advance(31_000)
    for (let i = 0; i < 20; i++)
      expect(
        (await me(api, h, await jose.accessToken(aud, {}, 300, { key: await newKey(), kid: randomUUID() }))).status,
      ).toBe(401)
    expect(jose.jwksFetches - fetches).toBe(1)
    // Rotation: a new published key works once the cooldown has passed.
    await jose.rotate()
    clock.advance(31_000)
    expect((await me(api, h, await jose.accessToken(aud))).status).toBe(200)
    expect(jose.jwksFetches - fetches).toBe(2)
  })
})
