import { describe, expect, it } from 'vitest'
import { requestAuthenticatorContract } from 'otpki/testing'
import { TestBrowser } from '../../test/support/browser.ts'
import { closeAfterEach, signIn, startHarness } from '../../test/support/harness.ts'
import trustedHeader, { TRUSTED_HEADER_MIGRATIONS, TrustedHeaderIdentity, trustedHeaderAuthenticator } from './index.ts'

requestAuthenticatorContract('trusted-header', {
  build: (services) =>
    trustedHeaderAuthenticator(
      { enabled: true, header: 'x-forwarded-user', trustedProxies: ['127.0.0.1'], createUnknownUsers: false },
      services,
    ),
  malformed: [['x-forwarded-user', '']],
  extensions: { entities: [TrustedHeaderIdentity], migrations: TRUSTED_HEADER_MIGRATIONS },
})

describe('trusted-header: a third-party auth method in one folder, loaded by one line', () => {
  const track = closeAfterEach()
  const start = (section: Record<string, unknown>) =>
    startHarness({
      overrides: { plugins: [trustedHeader], trustedHeader: { trustedProxies: ['127.0.0.1', '::1'], ...section } },
    })
  const asProxy = (url: string, name: string) => fetch(`${url}/auth/me`, { headers: { 'x-forwarded-user': name } })

  it('signs in the user the proxy names; creates it once, and finds it again', async () => {
    const h = track(await start({ createUnknownUsers: true }))
    for (let i = 0; i < 2; i++) {
      const res = await asProxy(h.url, 'build-bot')
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({
        user: { username: 'build-bot' },
        method: 'trusted-header',
        session: null,
      })
    }
    expect(await h.app.orm.em.fork().getConnection().execute('select name from trusted_header_identities')).toEqual([
      { name: 'build-bot' },
    ])
  })

  it('never takes over an account by its username, and ignores the header from anyone but the proxy', async () => {
    const h = track(await start({ createUnknownUsers: true }))
    await signIn(new TestBrowser(), h, 'alice')
    const takeover = await asProxy(h.url, 'alice')
    expect(takeover.status).toBe(401)
    expect(((await takeover.json()) as { message: string }).message).toMatch(/already belongs to another account/)
    const untrusted = track(
      await startHarness({ overrides: { plugins: [trustedHeader], trustedHeader: { trustedProxies: ['192.0.2.1'] } } }),
    )
    expect((await asProxy(untrusted.url, 'build-bot')).status).toBe(401)
    expect(untrusted.logs.messages()).toContain('trusted header from an untrusted peer ignored')
  })

  it('its config section is validated like a core one: unknown keys and bad values are errors', async () => {
    await expect(start({ createUnknownUser: true })).rejects.toThrow(
      /trustedHeader\.createUnknownUser: is not a known key/,
    )
  })
})
