import { randomUUID } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../../core/clock.ts'
import { hashId } from '../../core/sessions/ids.ts'
import { TokenVault } from '../../core/sessions/token-vault.ts'
import { TestCa, type Issued } from '../../plugins/dev-provider/throwaway-ca.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, forwardedCertificates, me, signIn, startHarness, type Harness } from '../support/harness.ts'
import { JoseProvider } from '../support/jose-provider.ts'

const rows = (h: Harness, sql: string) => h.app.orm.em.fork().getConnection().execute(sql)

/** SECURITY.md, "Parsing what others send": forwarded certificates against the running server. */
describe('forwarded certificate headers, strictly parsed, at the running server', () => {
  const track = closeAfterEach()
  let robot: Issued
  let other: Issued
  beforeAll(async () => {
    const ca = await TestCa.create()
    robot = await ca.client('CN=robot')
    other = await ca.client('CN=other')
  })
  const element = (i: Issued, name: string) =>
    `By=spiffe://ingress;Hash=${i.fingerprint};Cert="${encodeURIComponent(i.certPem)}";Subject="CN=${name}"`
  const xfcc = (h: Harness, value: string) =>
    fetch(`${h.url}/auth/me`, { headers: { 'x-forwarded-client-cert': value } })

  it('refuses whole headers that do not parse, and never signs in as an earlier hop’s certificate', async () => {
    const h = track(
      await startHarness({
        overrides: {
          clientCertificate: forwardedCertificates({ format: 'envoy' }),
        },
      }),
    )
    const good = element(robot, 'robot')
    const cases: [string, string, RegExp][] = [
      ['an unbalanced quote', good.replace('Subject="CN=robot"', 'Subject="CN=robot'), /unbalanced quote/],
      ['a stray character', `${good}"`, /does not parse/],
      ['two Cert values in one element', `${good};Cert="${encodeURIComponent(other.certPem)}"`, /two Cert values/],
      ['a Hash that is not the Cert’s', good.replace(robot.fingerprint, other.fingerprint), /Hash .* does not match/],
      [
        'a trusted element without Cert',
        `${element(other, 'other')},By=spiffe://ingress;Hash=${other.fingerprint}`,
        /has no Cert/,
      ],
    ]
    for (const [what, value, reason] of cases) {
      const res = await xfcc(h, value)
      expect(res.status, what).toBe(401)
      expect(((await res.json()) as { message: string }).message, what).toMatch(reason)
    }
    expect(await rows(h, 'select username from users')).toEqual([])
    const res = await xfcc(h, `${element(other, 'other')},${good}`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { user: { username: string } }).user.username).toBe('robot')
    expect(await rows(h, 'select username from users')).toEqual([{ username: 'robot' }])
  })

  it('a forwarded-certificate setup that verifies nothing does not start, unless the ingress is said to verify', async () => {
    const config = { enabled: true, format: 'nginx', trustedProxies: ['127.0.0.1'] }
    await expect(startHarness({ overrides: { clientCertificate: config } })).rejects.toThrow(
      /nothing verifying them: set verifyHeader .* caBundle .* or ingressVerifies: true/,
    )
    track(await startHarness({ overrides: { clientCertificate: { ...config, ingressVerifies: true } } }))
  })
})

/** Bearer credentials bound to OTPKI; how fast a token revoked at the provider stops working. */
describe('introspected bearer tokens', () => {
  const track = closeAfterEach()
  const now = () => Math.floor(Date.now() / 1000)

  async function start(clock?: ManualClock) {
    const jose = track(await JoseProvider.start('api-client', 'api-secret'))
    const base = { active: true, iss: jose.issuer, sub: 'robot-sub', username: 'robot', exp: now() + 3600, iat: now() }
    jose.behaviour.introspection = new Map<string, Record<string, unknown>>([
      ['ours', { ...base, client_id: 'api-client', token_type: 'Bearer' }],
      [
        'ours-by-audience',
        { ...base, client_id: 'a-frontend', aud: ['https://pki.example', 'api-client'], token_type: 'Bearer' },
      ],
      ['keycloak-style', { ...base, client_id: 'api-client', typ: 'Bearer' }],
      ['another-client', { ...base, client_id: 'someone-else', token_type: 'Bearer' }],
      ['another-audience', { ...base, client_id: 'someone-else', aud: 'someone-else', token_type: 'Bearer' }],
      ['a-refresh-token', { ...base, client_id: 'api-client' }],
      ['a-keycloak-refresh-token', { ...base, client_id: 'api-client', typ: 'Refresh' }],
      ['an-id-token', { ...base, client_id: 'api-client', token_type: 'Bearer', typ: 'ID' }],
      ['inactive', { active: false }],
      ['issued-in-the-future', { ...base, client_id: 'api-client', token_type: 'Bearer', iat: now() + 3600 }],
      ['another-issuer', { ...base, client_id: 'api-client', token_type: 'Bearer', iss: 'https://elsewhere.example' }],
    ])
    const provider = {
      issuer: jose.issuer,
      clientId: 'api-client',
      clientSecret: 'api-secret',
      introspectTokens: true,
      introspectionCacheTtl: '10s',
    }
    const h = track(
      await startHarness({ ...(clock ? { clock } : {}), providers: () => ({ 'jose.json': JSON.stringify(provider) }) }),
    )
    return { jose, h }
  }

  it('count only when issued to our client (client_id or aud) and an access token', async () => {
    const { h } = await start()
    const api = new TestBrowser()
    for (const token of ['ours', 'ours-by-audience', 'keycloak-style']) {
      const res = await me(api, h, token)
      expect(res.status, token).toBe(200)
      expect(res.body).toMatchObject({ user: { username: 'robot' }, method: 'bearer', provider: 'jose' })
    }
    for (const token of [
      'another-client',
      'another-audience',
      'a-refresh-token',
      'a-keycloak-refresh-token',
      'an-id-token',
      'inactive',
      'issued-in-the-future',
      'another-issuer',
    ]) {
      const res = await me(api, h, token)
      expect(res.status, token).toBe(401)
      expect(res.headers.get('www-authenticate'), token).toContain('error="invalid_token"')
    }
    expect(h.logs.messages().join('\n')).toMatch(/issued to another client/)
    expect(h.logs.messages().join('\n')).toMatch(/not an access token/)
  })

  it('a token revoked at the provider stops working within introspectionCacheTtl', async () => {
    const clock = new ManualClock(Date.now())
    const { jose, h } = await start(clock)
    const api = new TestBrowser()
    expect((await me(api, h, 'ours')).status).toBe(200)
    jose.behaviour.introspection!.set('ours', { active: false })
    const asked = jose.introspections
    clock.advance(9_000)
    // Still the cached answer: no introspection within the reuse time.
    expect((await me(api, h, 'ours')).status).toBe(200)
    expect(jose.introspections).toBe(asked)
    clock.advance(1_001)
    expect((await me(api, h, 'ours')).status).toBe(401)
    expect(jose.introspections).toBe(asked + 1)
  })
})

describe('JWT bearer tokens and logout tokens: timing claims and single use', () => {
  const track = closeAfterEach()
  const now = () => Math.floor(Date.now() / 1000)
  const event = { 'http://schemas.openid.net/event/backchannel-logout': {} }
  const backchannel = (h: Harness, token: string) =>
    fetch(`${h.url}/auth/backchannel-logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `logout_token=${token}`,
    })

  it('refuses JWT access tokens issued or valid only in the future, beyond the clock tolerance', async () => {
    const jose = track(await JoseProvider.start('api-client', 'api-secret'))
    const h = track(
      await startHarness({
        providers: () => ({
          'jose.json': JSON.stringify({ issuer: jose.issuer, clientId: 'api-client', clientSecret: 'api-secret' }),
        }),
      }),
    )
    const api = new TestBrowser()
    for (const claims of [
      { iat: now() + 600 },
      { nbf: now() + 600 },
      { auth_time: now() + 600 },
      { iat: now() + 45 },
    ]) {
      const res = await me(api, h, await jose.accessToken('api-client', { preferred_username: 'robot', ...claims }))
      expect(res.status, JSON.stringify(claims)).toBe(401)
    }
    expect(
      (await me(api, h, await jose.accessToken('api-client', { preferred_username: 'robot', iat: now() + 10 }))).status,
    ).toBe(200)
  })

  it('a logout token is used once: a replay is refused (400) and ends nothing; one from the future is refused', async () => {
    const jose = track(await JoseProvider.start('jose-client', 'jose-secret'))
    jose.behaviour.claims = { sub: 'alice-sub', preferred_username: 'alice' }
    const h = track(
      await startHarness({
        providers: () => ({
          'jose.json': JSON.stringify({
            issuer: jose.issuer,
            clientId: 'jose-client',
            clientSecret: 'jose-secret',
            backchannelLogout: true,
          }),
        }),
      }),
    )
    const first = new TestBrowser()
    expect((await signIn(first, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    const token = await jose.sign(
      {
        iss: jose.issuer,
        aud: 'jose-client',
        iat: now(),
        exp: now() + 120,
        jti: randomUUID(),
        sub: 'alice-sub',
        events: event,
      },
      { typ: 'logout+jwt' },
    )
    expect((await backchannel(h, token)).status).toBe(200)
    expect((await me(first, h)).status).toBe(401)

    const second = new TestBrowser()
    expect((await signIn(second, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    const replay = await backchannel(h, token)
    expect(replay.status).toBe(400)
    expect(replay.headers.get('cache-control')).toBe('no-store')
    expect(
      h.logs
        .messages()
        .filter((m) => m !== 'request')
        .at(-1),
    ).toMatch(/used before \(replay\)/)
    expect((await me(second, h)).status).toBe(200)

    for (const claims of [{ iat: now() + 600 }, { nbf: now() + 600 }, { jti: undefined }]) {
      const future = await jose.sign(
        {
          iss: jose.issuer,
          aud: 'jose-client',
          iat: now(),
          exp: now() + 1200,
          jti: randomUUID(),
          sub: 'alice-sub',
          events: event,
          ...claims,
        },
        { typ: 'logout+jwt' },
      )
      expect((await backchannel(h, future)).status, JSON.stringify(claims)).toBe(400)
    }
    expect((await me(second, h)).status).toBe(200)
    expect(await rows(h, 'select cast(count(*) as integer) as n from logout_tokens')).toEqual([{ n: 1 }])
  })
})

describe('nothing sensitive in plain text', () => {
  const track = closeAfterEach()

  it('the ID token kept for sign-out is sealed and bound to its session; sign-out still sends it', async () => {
    const h = track(await startHarness())
    const alice = new TestBrowser()
    await signIn(alice, h, 'alice')
    const admin = new TestBrowser()
    await signIn(admin, h, 'admin')
    const idToken = async (browser: TestBrowser) =>
      (
        (await rows(h, `select id_token from sessions where id_hash = '${await sessionHash(h, browser)}'`)) as {
          id_token: string
        }[]
      )[0]!.id_token
    for (const browser of [alice, admin]) {
      expect(await idToken(browser)).toMatch(/^v2\./)
      expect(await idToken(browser)).not.toMatch(/eyJ[\w-]*\.eyJ/)
    }
    // Alice's ciphertext copied onto admin's row does not open there.
    await h.app.orm.em
      .fork()
      .getConnection()
      .execute('update sessions set id_token = ? where id_hash = ?', [
        await idToken(alice),
        await sessionHash(h, admin),
      ])
    const signOut = async (browser: TestBrowser) => {
      const page = await browser.request(`${h.url}/`)
      const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!
      return browser.request(`${h.url}/auth/sign-out`, { form: { csrf } })
    }
    const moved = await signOut(admin)
    expect(moved.status).toBe(303)
    expect(new URL(moved.headers.get('location')!).searchParams.has('id_token_hint')).toBe(false)
    expect(h.logs.messages().join('\n')).toMatch(/stored id_token cannot be decrypted/)
    const own = await signOut(alice)
    expect(new URL(own.headers.get('location')!).searchParams.get('id_token_hint')).toMatch(/^eyJ/)
  })

  it('token encryption: an HKDF-derived key, and ciphertexts bound to session and kind', () => {
    const vault = new TokenVault('a configured tokenEncryptionKey')
    const sealed = vault.seal({ accessToken: 'at' }, { session: 'session-a', kind: 'tokens' })
    expect(vault.open(sealed, { session: 'session-a', kind: 'tokens' })).toEqual({ accessToken: 'at' })
    expect(() => vault.open(sealed, { session: 'session-b', kind: 'tokens' })).toThrow()
    expect(() => vault.open(sealed, { session: 'session-a', kind: 'id_token' })).toThrow()
    expect(() => new TokenVault('another key').open(sealed, { session: 'session-a', kind: 'tokens' })).toThrow()
  })
})

async function sessionHash(h: Harness, browser: TestBrowser): Promise<string> {
  return hashId((await browser.cookie(h.url, 'otpki_session'))!)
}
