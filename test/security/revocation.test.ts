import { testDatabases } from '../support/postgres.ts'
import { beforeAll, describe, expect, it } from 'vitest'
import { TestCa, type Issued } from '../../plugins/dev-provider/throwaway-ca.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, forwardedCertificates, me, signIn, startHarness, type Harness } from '../support/harness.ts'
import { JoseProvider } from '../support/jose-provider.ts'

const sessionsOf = async (h: Harness, provider: string) =>
  (
    (await h.app.orm.em
      .fork()
      .getConnection()
      .execute('select cast(count(*) as integer) as n from sessions where provider = ?', [provider])) as { n: number }[]
  )[0]!.n

/**
 * SECURITY.md, "revocation is prompt": disabling or removing a provider, or
 * changing its issuer, ends its sessions and refuses its bearer tokens at the
 * reload that applies the file; certificate users are unaffected.
 */
describe.each(testDatabases())('revocation of a provider takes effect at once (%s)', (database) => {
  const track = closeAfterEach()
  let robot: Issued
  beforeAll(async () => {
    robot = await (await TestCa.create()).client('CN=robot')
  })

  async function setup() {
    const jose = track(await JoseProvider.start('api-client', 'api-secret'))
    jose.behaviour.claims = { sub: 'jo-sub', preferred_username: 'jo' }
    const file = (extra: Record<string, unknown> = {}) =>
      JSON.stringify({ issuer: jose.issuer, clientId: 'api-client', clientSecret: 'api-secret', ...extra })
    const h = track(
      await startHarness({
        database,
        providers: ({ providerJson }) => ({ 'dev.json': providerJson(), 'jose.json': file() }),
        overrides: {
          clientCertificate: forwardedCertificates(),
        },
      }),
    )
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    const other = new TestBrowser()
    await signIn(other, h, 'alice', 'alice', { provider: 'dev' })
    const token = await jose.accessToken('api-client', { preferred_username: 'jo' })
    const api = new TestBrowser()
    const certificate = () =>
      fetch(`${h.url}/auth/me`, { headers: { 'ssl-client-cert': encodeURIComponent(robot.certPem) } })
    // Everything works, and the bearer answer is now cached.
    expect((await me(browser, h)).status).toBe(200)
    expect((await me(api, h, token)).status).toBe(200)
    expect((await certificate()).status).toBe(200)
    return { jose, h, file, browser, other, api, token, certificate }
  }

  async function expectRevoked(s: Awaited<ReturnType<typeof setup>>, started: number, what: string) {
    expect((await me(s.browser, s.h)).status, what).toBe(401)
    expect((await me(s.api, s.h, s.token)).status, what).toBe(401)
    console.info(`${what}: sessions and bearer tokens refused ${Date.now() - started} ms after the file was written`)
    await s.h.logs.waitFor((l) => String(l.msg).includes('sessions ended'))
    expect(await sessionsOf(s.h, 'jose')).toBe(0)
    // Others are untouched: another provider's session, and certificate users.
    expect((await me(s.other, s.h)).status, what).toBe(200)
    expect((await s.certificate()).status, what).toBe(200)
  }

  it('disabling a provider ends its sessions for good and refuses its bearer tokens', async () => {
    const s = await setup()
    const started = Date.now()
    await s.h.writeProvider('jose.json', s.file({ enabled: false }))
    await expectRevoked(s, started, 'disabled')
    // Enabled again: the ended session stays ended; a new sign-in works.
    await s.h.writeProvider('jose.json', s.file())
    expect((await me(s.browser, s.h)).status).toBe(401)
    expect((await signIn(s.browser, s.h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
  })

  it('removing a provider file', async () => {
    const s = await setup()
    const started = Date.now()
    await s.h.removeProvider('jose.json')
    await expectRevoked(s, started, 'removed')
  })

  it('changing its issuer', async () => {
    const s = await setup()
    const moved = track(await JoseProvider.start('api-client', 'api-secret'))
    const started = Date.now()
    await s.h.writeProvider(
      'jose.json',
      JSON.stringify({ issuer: moved.issuer, clientId: 'api-client', clientSecret: 'api-secret' }),
    )
    await expectRevoked(s, started, 'issuer changed')
  })

  it('a session is refused from the moment its provider is revoked, before the database delete has finished', async () => {
    const s = await setup()
    const cookie = await s.browser.cookie(s.h.url, 'otpki_session')
    expect(cookie).toBeTruthy()
    // Not cached: the first lookup reads the row before the delete runs, and answers after the revocation.
    await s.h.app.feed.publish({ kind: 'reset' })
    const before = s.h.app.sessions.lookup(cookie)
    const ending = s.h.app.sessions.endByProvider('jose')
    const during = s.h.app.sessions.lookup(cookie)
    expect(await before).toBeUndefined()
    expect(await during).toBeUndefined()
    expect(s.h.app.sessions.peek(cookie)).toBeUndefined()
    expect(await ending).toBe(1)
    expect(await s.h.app.sessions.lookup(cookie)).toBeUndefined()
    // Sessions begun after the revocation (the provider enabled again) count.
    expect((await signIn(s.browser, s.h, 'x', 'x', { provider: 'jose' })).status).toBe(200)
    expect((await me(s.browser, s.h)).status).toBe(200)
  })

  it('a change that keeps the provider in force (its display name) ends nothing', async () => {
    const s = await setup()
    await s.h.writeProvider('jose.json', s.file({ displayName: 'Renamed' }))
    expect((await me(s.browser, s.h)).status).toBe(200)
    expect((await me(s.api, s.h, s.token)).status).toBe(200)
    expect(await sessionsOf(s.h, 'jose')).toBe(1)
  })
})
