import { createPublicKey } from 'node:crypto'
import { exportJWK, exportPKCS8, generateKeyPair } from 'jose'
import type { AuditLog } from '../../../core/audit/audit-log.ts'
import { TOKENS } from '../../../core/di/tokens.ts'
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../../core/clock.ts'
import { TestBrowser } from '../../support/browser.ts'
import { CLIENT, closeAfterEach, me, signIn, startHarness, type Harness } from '../../support/harness.ts'
import { JoseProvider, joseHarness, newKey } from '../../support/jose-provider.ts'

async function ready(h: Harness, name = 'dev') {
  await h.app.registry
    .get(name)!
    .context()
    .catch(() => undefined)
  return h.app.registry.get(name)!.status()
}

describe('endpoints and transport', () => {
  const track = closeAfterEach()
  let h: Harness
  let jose: JoseProvider

  it('refuses a provider whose discovery document names another issuer', async () => {
    jose = track(await JoseProvider.start('c', 's'))
    jose.behaviour.discoveryIssuer = 'http://127.0.0.1:1/evil'
    h = track(
      await startHarness({
        providers: () => ({ 'liar.json': JSON.stringify({ issuer: jose!.issuer, clientId: 'c', clientSecret: 's' }) }),
      }),
    )
    const status = await ready(h, 'liar')
    expect(status.state).toBe('unavailable')
    expect(status.error).toMatch(/issuer/i)
    const page = await new TestBrowser().request(`${h.url}/auth/sign-in?provider=liar`)
    expect(page.status).toBe(503)
    const ready2 = (await (await fetch(`${h.url}/readyz`)).json()) as {
      providers: Record<string, { state: string; error?: string }>
    }
    expect(ready2.providers.liar).toMatchObject({ state: 'unavailable', error: expect.stringMatching(/issuer/i) })
  })

  it('an unavailable provider is retried with backoff (1 s, doubling), not at every request', async () => {
    const clock = new ManualClock(Date.now())
    jose = track(await JoseProvider.start(CLIENT.clientId, CLIENT.clientSecret))
    jose.behaviour.discoveryIssuer = 'http://127.0.0.1:1/evil'
    h = track(
      await startHarness({
        clock,
        providers: () => ({ 'jose.json': JSON.stringify({ issuer: jose!.issuer, clientId: 'c', clientSecret: 's' }) }),
      }),
    )
    const entry = () => h.app.registry.get('jose')!
    await expect(entry().context()).rejects.toThrow(/unavailable/)
    const fetches = jose.discoveryFetches
    // Within the backoff, a sign-in gets the clear page at once and the provider is not asked again.
    expect((await new TestBrowser().request(`${h.url}/auth/sign-in?provider=jose`)).status).toBe(503)
    expect(jose.discoveryFetches).toBe(fetches)
    clock.advance(1_000)
    await expect(entry().context()).rejects.toThrow(/unavailable/)
    expect(jose.discoveryFetches).toBe(fetches + 1)
    // The second wait is twice as long.
    clock.advance(1_500)
    await expect(entry().context()).rejects.toThrow(/unavailable/)
    expect(jose.discoveryFetches).toBe(fetches + 1)
    jose.behaviour.discoveryIssuer = undefined
    clock.advance(500)
    await entry().context()
    expect(entry().status().state).toBe('ready')
    expect(jose.discoveryFetches).toBe(fetches + 2)
  })

  it('discovery off: endpoints given by hand', async () => {
    h = track(
      await startHarness({
        providers: ({ issuer, providerJson }) => ({
          'dev.json': providerJson({
            discovery: false,
            endpoints: {
              authorization: `${issuer}/auth`,
              token: `${issuer}/token`,
              userinfo: `${issuer}/me`,
              jwks: `${issuer}/jwks`,
              endSession: `${issuer}/session/end`,
            },
          }),
        }),
      }),
    )
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'alice')).status).toBe(200)
    expect((await me(browser, h)).body.user.username).toBe('alice')
  })

  it('discovery off: a discovery document is never read (this one lies about the issuer, and does not matter)', async () => {
    jose = track(await JoseProvider.start(CLIENT.clientId, CLIENT.clientSecret))
    jose.behaviour.discoveryIssuer = 'http://127.0.0.1:1/evil'
    const endpoints = (j: JoseProvider) => ({
      authorization: `${j.issuer}/authorize`,
      token: `${j.issuer}/token`,
      userinfo: `${j.issuer}/userinfo`,
      jwks: `${j.issuer}/jwks`,
    })
    const file = (discovery: boolean) =>
      JSON.stringify({
        issuer: jose.issuer,
        clientId: CLIENT.clientId,
        clientSecret: CLIENT.clientSecret,
        discovery,
        endpoints: endpoints(jose),
      })
    h = track(await startHarness({ providers: () => ({ 'jose.json': file(false) }) }))
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    expect((await me(browser, h)).body.user.username).toBe('jose-user')
    // The same provider with discovery on is refused for the lying document.
    await h.writeProvider('jose.json', file(true))
    expect((await ready(h, 'jose')).state).toBe('unavailable')
  })

  it('backchannelUrl: server-to-server calls go to the internal URL, the browser to the public one', async () => {
    // The provider's public name (idp.localhost) resolves only in the test browser.
    const providersFor =
      (withBackchannel: boolean) =>
      ({ issuer, providerJson }: { issuer: string; providerJson: Harness['providerJson'] }) => ({
        'dev.json': providerJson(
          withBackchannel ? { backchannelUrl: issuer.replace('idp.localhost', '127.0.0.1') } : {},
        ),
      })
    h = track(await startHarness({ issuerHost: 'idp.localhost', providers: providersFor(false) }))
    expect(h.provider.issuer).toMatch(/^http:\/\/idp\.localhost:\d+$/)
    expect((await ready(h)).state).toBe('unavailable')
    await h.close()

    h = track(await startHarness({ issuerHost: 'idp.localhost', providers: providersFor(true) }))
    expect((await ready(h)).state).toBe('ready')
    const browser = new TestBrowser({ 'idp.localhost': '127.0.0.1' })
    const page = await signIn(browser, h, 'alice')
    expect(page.status).toBe(200)
    expect(browser.history.some((u) => u.startsWith(h.provider.issuer))).toBe(true)
    expect(browser.history.some((u) => new URL(u).hostname === '127.0.0.1' && !u.startsWith(h.url))).toBe(false)
    expect((await me(browser, h)).body.user.username).toBe('alice')
  })
})

describe('client authentication, each against a provider that requires it', () => {
  const track = closeAfterEach()
  let h: Harness

  it.each([
    ['client_secret_jwt', 'HS256'],
    ['client_secret_jwt', 'HS512'],
  ])('%s with %s', async (method, alg) => {
    h = track(
      await startHarness({
        client: () => ({ tokenEndpointAuthMethod: 'client_secret_jwt', tokenEndpointAuthSigningAlg: alg }),
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({
            clientAuthentication: method,
            ...(alg !== 'HS256' ? { clientAssertionSigningAlg: alg } : {}),
          }),
        }),
      }),
    )
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'alice')
    expect(page.status).toBe(200)
  })

  it.each([
    ['RS256', 'pem'],
    ['PS256', 'pem'],
    ['ES256', 'jwk'],
    ['EdDSA', 'jwk'],
  ])('private_key_jwt with %s (key as %s)', async (alg, format) => {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
    const kid = `otpki-${alg.toLowerCase()}`
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
    const clientPrivateKey =
      format === 'pem' ? await exportPKCS8(privateKey) : JSON.stringify({ ...(await exportJWK(privateKey)), kid })
    h = track(
      await startHarness({
        client: () => ({
          clientSecret: undefined,
          tokenEndpointAuthMethod: 'private_key_jwt',
          tokenEndpointAuthSigningAlg: alg,
          jwks: { keys: [publicJwk] },
        }),
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({
            clientAuthentication: 'private_key_jwt',
            clientSecret: undefined,
            clientPrivateKey,
            ...(alg !== 'RS256' ? { clientAssertionSigningAlg: alg } : {}),
          }),
        }),
      }),
    )
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'alice')).status).toBe(200)
  })

  it('none: a public client, with PKCE', async () => {
    h = track(
      await startHarness({
        client: () => ({ clientSecret: undefined, tokenEndpointAuthMethod: 'none' }),
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ clientAuthentication: 'none', clientSecret: undefined }),
        }),
      }),
    )
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'alice')).status).toBe(200)
  })

  it('a provider that requires another method refuses the wrong one', async () => {
    h = track(
      await startHarness({
        client: () => ({ tokenEndpointAuthMethod: 'client_secret_jwt' }),
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ clientAuthentication: 'client_secret_basic' }),
        }),
      }),
    )
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'alice')
    expect(page.status).toBe(400)
    expect((await me(browser, h)).status).toBe(401)
  })
})

describe('token validation', () => {
  const track = closeAfterEach()
  let h: Harness
  let jose: JoseProvider

  const clock = new ManualClock(Date.now())
  const joseHarness = async (overrides: Record<string, unknown> = {}) => {
    jose = track(await JoseProvider.start(CLIENT.clientId, CLIENT.clientSecret))
    h = track(
      await startHarness({
        clock,
        providers: () => ({
          'jose.json': JSON.stringify({
            issuer: jose.issuer,
            clientId: CLIENT.clientId,
            clientSecret: CLIENT.clientSecret,
            ...overrides,
          }),
        }),
      }),
    )
  }

  it('verifies ID token signatures: a token signed with an unpublished key is refused', async () => {
    await joseHarness()
    jose.behaviour.idTokenKey = await newKey()
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'x', 'x', { provider: 'jose' })
    expect(page.status).toBe(400)
    expect((await me(browser, h)).status).toBe(401)
    expect(h.logs.messages().some((m) => m.includes('ID token signature'))).toBe(true)
  })

  it('validateSignatures: false accepts it, with a warning at load, and still checks the claims', async () => {
    await joseHarness({ validateSignatures: false })
    expect(h.logs.messages().some((m) => m.includes('validateSignatures is off'))).toBe(true)
    jose.behaviour.idTokenKey = await newKey()
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    jose.behaviour.claims = { ...jose.behaviour.claims, aud: 'someone-else' }
    const other = new TestBrowser()
    expect((await signIn(other, h, 'x', 'x', { provider: 'jose' })).status).toBe(400)
  })

  it('a rotated key is fetched once an unknown kid arrives', async () => {
    await joseHarness()
    expect((await signIn(new TestBrowser(), h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    const before = jose.jwksFetches
    await jose.rotate()
    // Within the refetch cooldown, an unknown kid is refused without a fetch; after it, one fetch finds the new key.
    expect((await signIn(new TestBrowser(), h, 'x', 'x', { provider: 'jose' })).status).toBe(400)
    expect(jose.jwksFetches).toBe(before)
    clock.advance(31_000)
    expect((await signIn(new TestBrowser(), h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    expect(jose.jwksFetches).toBe(before + 1)
  })

  it('useJwksUrl off: the configured public key and key id', async () => {
    h = track(await startHarness())
    const jwks = (await (await fetch(`${h.provider.issuer}/jwks`)).json()) as {
      keys: (Record<string, unknown> & { kid: string })[]
    }
    const pem = createPublicKey({ key: jwks.keys[0]! as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString()
    await h.writeProvider(
      'dev.json',
      h.providerJson({ useJwksUrl: false, validatingPublicKey: pem, validatingPublicKeyId: jwks.keys[0]!.kid }),
    )
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
    await h.writeProvider(
      'dev.json',
      h.providerJson({ useJwksUrl: false, validatingPublicKey: pem, validatingPublicKeyId: 'another-kid' }),
    )
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(400)
    const other = createPublicKey({ key: (await newKey()).publicJwk as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString()
    await h.writeProvider('dev.json', h.providerJson({ useJwksUrl: false, validatingPublicKey: other }))
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(400)
  })
})

describe('authorization request', () => {
  const track = closeAfterEach()
  let h: Harness

  const authorizeUrl = async (h: Harness, query = 'provider=dev') => {
    const res = await new TestBrowser().request(`${h.url}/auth/sign-in?${query}`)
    return new URL(res.headers.get('location')!, h.url)
  }

  it('pkce off: no code challenge, and a warning', async () => {
    h = track(await startHarness({ providers: ({ providerJson }) => ({ 'dev.json': providerJson({ pkce: 'off' }) }) }))
    const url = await authorizeUrl(h)
    expect(url.searchParams.has('code_challenge')).toBe(false)
    expect(h.logs.messages().some((m) => m.includes('pkce is off'))).toBe(true)
    await h.writeProvider('dev.json', h.providerJson())
    expect((await authorizeUrl(h)).searchParams.get('code_challenge_method')).toBe('S256')
  })

  it('prompt is sent with every request: prompt=login asks again at the provider', async () => {
    h = track(await startHarness())
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    // Without prompt, the provider's session signs the browser in at once.
    const again = await signIn(browser, h, 'alice')
    expect(again.body).toContain('You are signed in')
    await h.writeProvider('dev.json', h.providerJson({ prompt: 'login' }))
    expect((await authorizeUrl(h)).searchParams.get('prompt')).toBe('login')
    const forced = await browser.request(`${h.url}/auth/sign-in?provider=dev`)
    const page = await browser.follow(new URL(forced.headers.get('location')!).href)
    expect(page.body).toContain('name="password"')
  })

  it('prompt=none: answered at once with login_required unless the provider accepts the forward', async () => {
    h = track(await startHarness())
    const silent = await new TestBrowser().request(`${h.url}/auth/sign-in?prompt=none&returnTo=%2Fapp`)
    expect(silent.status).toBe(303)
    expect(silent.headers.get('location')).toBe('/app?error=login_required')

    await h.writeProvider('dev.json', h.providerJson({ acceptsPromptNoneForward: true }))
    const url = await authorizeUrl(h, 'prompt=none&returnTo=%2Fapp')
    expect(url.searchParams.get('prompt')).toBe('none')
    // No session at the provider: it answers login_required, which goes back to returnTo.
    const stranger = new TestBrowser()
    const back = await stranger.follow(`${h.url}/auth/sign-in?prompt=none&returnTo=%2Fapp`)
    expect(back.url).toBe(`${h.url}/app?error=login_required`)
    expect((await me(stranger, h)).status).toBe(401)
    // With a session at the provider, the silent sign-in completes.
    const known = new TestBrowser()
    await signIn(known, h, 'alice')
    await known.request(`${h.url}/auth/signed-out`)
    const done = await known.follow(`${h.url}/auth/sign-in?prompt=none&returnTo=%2Fapp`)
    expect(done.url).toBe(`${h.url}/app`)
    expect((await me(known, h)).body.user.username).toBe('alice')
  })

  it('a hidden provider starts by hint; a linking-only one cannot sign in', async () => {
    h = track(
      await startHarness({
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ hideOnLoginPage: true }) }),
      }),
    )
    expect((await new TestBrowser().request(`${h.url}/auth/sign-in`)).body).toContain('Authentication is not available')
    expect((await signIn(new TestBrowser(), h, 'alice', 'alice', { provider: 'dev' })).status).toBe(200)
    await h.writeProvider('dev.json', h.providerJson({ accountLinkingOnly: true }))
    const refused = await new TestBrowser().request(`${h.url}/auth/sign-in?provider=dev`)
    expect(refused.status).toBe(403)
    expect(refused.body).toContain('cannot be used to sign in')
  })
})

describe('trustEmail', () => {
  const track = closeAfterEach()
  let h: Harness

  it('off: an unverified email stays unverified; on: stored as verified', async () => {
    h = track(await startHarness())
    h.provider.users.alice!.claims.email_verified = false
    await signIn(new TestBrowser(), h, 'alice')
    const verified = async () =>
      (
        await h.app.orm.em
          .fork()
          .getConnection()
          .execute("select email_verified as v from users where username = 'alice'")
      )[0]!.v
    expect(await verified()).toBe(0)
    await h.app.orm.em.fork().getConnection().execute('delete from users')
    await h.writeProvider('dev.json', h.providerJson({ trustEmail: true }))
    await signIn(new TestBrowser(), h, 'alice')
    expect(await verified()).toBe(1)
  })
})

describe('the token endpoint', () => {
  const track = closeAfterEach()
  const start = (secret: string) => joseHarness(track, {}, { clientSecret: secret })

  it('client_secret_basic form-encodes the credentials: base64url characters and * stay as they are', async () => {
    // A provider that compares the Basic credentials without decoding them.
    const raw = await start('Ab3-_.xYz*9-_')
    raw.jose.behaviour = { ...raw.jose.behaviour, basicWithoutDecoding: true }
    expect((await signIn(new TestBrowser(), raw.h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    // One that decodes them gets back a secret with characters the encoding escapes.
    const decoding = await start('s p~a:c(e)!')
    expect((await signIn(new TestBrowser(), decoding.h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
  })

  it("a refusal is logged with what the provider said: the status, error and description, and a challenge's parts", async () => {
    const { jose, h } = await start('a-secret')
    jose.behaviour = {
      ...jose.behaviour,
      tokenRefusal: { status: 400, body: { error: 'invalid_grant', error_description: 'Code not valid' } },
    }
    expect((await signIn(new TestBrowser(), h, 'x', 'x', { provider: 'jose' })).status).toBe(400)
    expect(h.logs.lines.map((l) => String(l.msg)).join('\n')).toContain(
      'response from jose refused: the provider answered 400 invalid_grant: Code not valid',
    )
    jose.behaviour = {
      ...jose.behaviour,
      tokenRefusal: {
        status: 401,
        body: { error: 'unauthorized' },
        headers: { 'www-authenticate': 'Basic realm="sso", error_description="Invalid client credentials"' },
      },
    }
    expect((await signIn(new TestBrowser(), h, 'x', 'x', { provider: 'jose' })).status).toBe(400)
    expect(h.logs.lines.map((l) => String(l.msg)).join('\n')).toContain(
      'the provider answered 401 with the challenge basic invalid_client: Invalid client credentials (realm sso)',
    )
  })
})

describe('signOutByServerRequest: sign-out at the provider by a server-to-server request', () => {
  const track = closeAfterEach()
  const start = async (status = 200) => {
    const { jose, h } = await joseHarness(
      track,
      { signOutByServerRequest: true },
      { behaviour: { endSession: { status } } },
    )
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    const home = await browser.request(`${h.url}/`)
    const csrf = /name="csrf" value="([^"]+)"/.exec(home.body)![1]!
    const out = await browser.request(`${h.url}/auth/sign-out`, { form: { csrf } })
    return { jose, h, browser, out }
  }

  it('calls the end-session endpoint with id_token_hint and the client authentication; the browser stays at OTPKI', async () => {
    const { jose, h, browser, out } = await start()
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toBe('/auth/signed-out')
    expect(jose.logouts).toHaveLength(1)
    const call = jose.logouts[0]!
    expect(call.method).toBe('POST')
    expect(call.params.get('client_id')).toBe(CLIENT.clientId)
    expect(call.params.get('id_token_hint')).toMatch(/^eyJ/)
    expect(call.authorization).toMatch(/^Basic /)
    expect((await me(browser, h)).status).toBe(401)
  })

  it('a refusal is logged and audited, and the local session ends all the same', async () => {
    const { jose, h, browser, out } = await start(500)
    expect(jose.logouts).toHaveLength(1)
    expect(out.headers.get('location')).toBe('/auth/signed-out?provider=kept')
    expect((await me(browser, h)).status).toBe(401)
    expect(h.logs.lines.map((l) => String(l.msg))).toContain(
      `sign-out at provider jose failed: the end-session endpoint ${jose.issuer}/logout answered HTTP 500 Internal Server Error`,
    )
    await h.app.container.resolve<AuditLog>(TOKENS.AuditLog).flush()
    const audit = await h.app.container.resolve<AuditLog>(TOKENS.AuditLog).query({ kind: 'sign-out' })
    expect(audit.map((e) => [e.outcome, e.reason ?? null])).toEqual([
      ['failure', 'provider-sign-out-failed'],
      ['success', null],
    ])
  })
})
