import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { TestBrowser } from '../support/browser.ts'
import { CLIENT, me, signIn, startHarness, type Harness } from '../support/harness.ts'
import { JoseProvider, newKey, type JoseProviderBehaviour } from '../support/jose-provider.ts'

/**
 * SECURITY.md, "ID tokens and the code flow": a provider that misbehaves on
 * purpose. Every case must be refused: no session, no user created or
 * changed, a neutral error page, and a log line that says why.
 */
describe('ID tokens and the code flow: refusals', () => {
  let jose: JoseProvider
  let h: Harness
  const base: JoseProviderBehaviour = { claims: { sub: 'victim', preferred_username: 'victim', given_name: 'Vic' } }
  beforeAll(async () => {
    jose = await JoseProvider.start(CLIENT.clientId, CLIENT.clientSecret)
    // Two published keys from the start: a token without kid cannot say which one.
    await jose.rotate()
    h = await startHarness({
      providers: () => ({
        'jose.json': JSON.stringify({
          issuer: jose.issuer,
          clientId: CLIENT.clientId,
          clientSecret: CLIENT.clientSecret,
        }),
      }),
    })
    return async () => {
      await h.close()
      await jose.close()
    }
  })
  afterEach(() => {
    jose.behaviour = structuredClone(base)
  })

  const now = () => Math.floor(Date.now() / 1000)
  const cases: [string, () => Promise<Partial<JoseProviderBehaviour>> | Partial<JoseProviderBehaviour>, RegExp][] = [
    ['wrong iss', () => ({ idTokenClaims: { iss: 'https://evil.example' } }), /iss/],
    ['no iss', () => ({ idTokenClaims: { iss: undefined } }), /iss/],
    ['wrong aud', () => ({ idTokenClaims: { aud: 'another-client' } }), /aud/],
    ['no sub', () => ({ idTokenClaims: { sub: undefined } }), /sub/],
    ['no iat', () => ({ idTokenClaims: { iat: undefined } }), /iat/],
    ['no exp', () => ({ idTokenClaims: { exp: undefined } }), /exp/],
    ['expired', () => ({ idTokenClaims: { iat: now() - 3600, exp: now() - 1800 } }), /exp|expired/i],
    [
      'azp wrong with several audiences',
      () => ({ idTokenClaims: { aud: [CLIENT.clientId, 'other'], azp: 'other' } }),
      /azp/,
    ],
    ['wrong nonce', () => ({ idTokenClaims: { nonce: 'not-the-one' } }), /nonce/],
    ['no nonce', () => ({ idTokenClaims: { nonce: undefined } }), /nonce/],
    ['no ID token in the token response', () => ({ omitIdToken: true }), /ID token|id_token/],
    ['a bad signature (an unpublished key)', async () => ({ idTokenKey: await newKey() }), /signature|key/i],
    ['alg none', () => ({ idTokenSigning: 'none' as const }), /alg|none|signature/i],
    [
      'HS256 keyed with the provider’s public key text (algorithm confusion)',
      () => ({ idTokenSigning: 'hs256-public-key' as const }),
      /alg|signature|HMAC/i,
    ],
    ['userinfo sub differs from the ID token sub', () => ({ userinfoClaims: { sub: 'someone-else' } }), /sub/],
    ['an iss parameter that does not match (mix-up)', () => ({ issParam: 'https://other-provider.example' }), /iss/],
    ['no iss parameter from a provider that advertises it', () => ({ issParam: null }), /iss/],
    // Timing claims beyond the documented clock tolerance (clockTolerance, 30 s by default).
    ['iat an hour in the future', () => ({ idTokenClaims: { iat: now() + 3600, exp: now() + 7200 } }), /iat/],
    ['iat 45 s in the future', () => ({ idTokenClaims: { iat: now() + 45 } }), /iat/],
    ['nbf in the future', () => ({ idTokenClaims: { nbf: now() + 600 } }), /nbf/],
    ['auth_time in the future', () => ({ idTokenClaims: { auth_time: now() + 600 } }), /auth_time/],
    ['auth_time that is not a number', () => ({ idTokenClaims: { auth_time: 'yesterday' } }), /auth_time/],
  ]

  it.each(cases)('%s', async (_name, behaviour, reason) => {
    Object.assign(jose.behaviour, await behaviour())
    const logged = h.logs.lines.length
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'x', 'x', { provider: 'jose' })
    expect(page.status).toBe(400)
    expect(page.body).toContain('could not be verified')
    expect(page.body).not.toMatch(/eyJ|at .+\.(ts|js):\d+|Error:|client-secret/)
    expect((await me(browser, h)).status).toBe(401)
    expect(
      await h.app.orm.em.fork().getConnection().execute('select cast(count(*) as integer) as n from users'),
    ).toEqual([{ n: 0 }])
    const lines = h.logs.lines.slice(logged).map((l) => String(l.msg))
    expect(
      lines.find((m) => m.includes('callback refused')),
      lines.join('\n'),
    ).toMatch(reason)
  })

  it('no kid, with several keys published: refused', async () => {
    jose.behaviour.idTokenSigning = 'no-kid'
    const logged = h.logs.lines.length
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'jose' })).status).toBe(400)
    expect((await me(browser, h)).status).toBe(401)
    expect(
      h.logs.lines
        .slice(logged)
        .map((l) => String(l.msg))
        .join('\n'),
    ).toMatch(/multiple matching keys/i)
  })

  it('timing claims a few seconds ahead, within the clock tolerance, are accepted', async () => {
    jose.behaviour.idTokenClaims = { iat: now() + 10, nbf: now() + 10, auth_time: now() + 10 }
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    expect((await me(browser, h)).body.user.username).toBe('victim')
  })

  it('and a well-behaved answer still signs in (the cases above fail for their reason)', async () => {
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    expect((await me(browser, h)).body.user.username).toBe('victim')
  })
})

describe('an algorithm other than the provider’s', () => {
  it('refuses an ID token signed with a published key of another algorithm than the configured ones', async () => {
    const jose = await JoseProvider.start(CLIENT.clientId, CLIENT.clientSecret)
    await jose.rotate('ES256')
    const h = await startHarness({
      providers: () => ({
        'jose.json': JSON.stringify({
          issuer: jose.issuer,
          clientId: CLIENT.clientId,
          clientSecret: CLIENT.clientSecret,
          signatureAlgorithms: ['RS256'],
        }),
      }),
    })
    try {
      const browser = new TestBrowser()
      const page = await signIn(browser, h, 'x', 'x', { provider: 'jose' })
      expect(page.status).toBe(400)
      expect((await me(browser, h)).status).toBe(401)
      expect(h.logs.messages().find((m) => m.includes('callback refused'))).toMatch(/alg/i)
    } finally {
      await h.close()
      await jose.close()
    }
  })
})
