import { testDatabases } from '../support/postgres.ts'
import { describe, expect, it } from 'vitest'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, me, signIn, signInUntilCallback, startHarness } from '../support/harness.ts'
import { CertificateStore } from '../../plugins/client-certificate/certificate-store.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'

describe.each(testDatabases())('state, sessions and accounts (%s)', (database) => {
  const track = closeAfterEach()

  it('refuses a callback whose state is altered or missing', async () => {
    const h = track(await startHarness({ database }))
    for (const tamper of [
      (u: URL) => u.searchParams.set('state', 'forged-state-value'),
      (u: URL) => u.searchParams.delete('state'),
    ]) {
      const browser = new TestBrowser()
      const callback = await signInUntilCallback(browser, h, 'alice')
      tamper(callback)
      const res = await browser.request(callback.href)
      expect(res.status).toBe(400)
      expect((await me(browser, h)).status).toBe(401)
    }
    expect(h.logs.messages().filter((m) => /callback refused: AUTH_RESPONSE_INVALID.*state/i.test(m))).toHaveLength(2)
    expect(
      await h.app.orm.em.fork().getConnection().execute('select cast(count(*) as integer) as n from users'),
    ).toEqual([{ n: 0 }])
  })

  it('session fixation: a session id planted before sign-in is never the one used after it', async () => {
    const h = track(await startHarness({ database }))
    const browser = new TestBrowser()
    const planted = 'attacker-chosen-session-id-0123456789abcdef'
    await browser.jar.setCookie(`otpki_session=${planted}; Path=/`, h.url)
    await signIn(browser, h, 'alice')
    const after = await browser.cookie(h.url, 'otpki_session')
    expect(after).not.toBe(planted)
    expect((await me(browser, h)).status).toBe(200)
    const attacker = new TestBrowser()
    await attacker.jar.setCookie(`otpki_session=${planted}; Path=/`, h.url)
    expect((await me(attacker, h)).status).toBe(401)
  })

  it('a session id has at least 128 bits and the database keeps only its hash', async () => {
    const h = track(await startHarness({ database }))
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    const id = (await browser.cookie(h.url, 'otpki_session'))!
    expect(Buffer.from(id, 'base64url').length * 8).toBeGreaterThanOrEqual(128)
    const rows = (await h.app.orm.em.fork().getConnection().execute('select id_hash from sessions')) as {
      id_hash: string
    }[]
    expect(rows).toHaveLength(1)
    expect(rows[0]!.id_hash).toMatch(/^[0-9a-f]{64}$/)
    expect(rows[0]!.id_hash).not.toContain(id)
    const { createHash } = await import('node:crypto')
    expect(rows[0]!.id_hash).toBe(createHash('sha256').update(id).digest('hex'))
  })

  it('accounts are never merged by email: another identity with the same email is another user', async () => {
    const h = track(await startHarness({ database }))
    await signIn(new TestBrowser(), h, 'alice')
    h.provider.users.alice2 = {
      password: 'alice2',
      claims: { preferred_username: 'alice-other', email: 'alice@example.test', email_verified: true },
    }
    const other = new TestBrowser()
    await signIn(other, h, 'alice2')
    expect((await me(other, h)).body.user.username).toBe('alice-other')
    const rows = await h.app.orm.em
      .fork()
      .getConnection()
      .execute('select u.username, i.subject from users u join identities i on i.user_id = u.id order by u.id')
    expect(rows).toEqual([
      { username: 'alice', subject: 'alice' },
      { username: 'alice-other', subject: 'alice2' },
    ])
  })

  it('a cross-site administration request with a session cookie is refused', async () => {
    const h = track(
      await startHarness({
        database,
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
      }),
    )
    const admin = new TestBrowser()
    await signIn(admin, h, 'admin')
    const pem = (await (await TestCa.create()).client('CN=x')).certPem
    const body = JSON.stringify({ pem })
    const crossSite = await admin.request(`${h.url}/admin/users/admin/certificates`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body,
    })
    expect(crossSite.status).toBe(403)
    expect(h.logs.messages().some((m) => m.includes('cross-origin administration from https://evil.example'))).toBe(
      true,
    )
    const form = await admin.request(`${h.url}/admin/users/admin/certificates`, { form: { pem } })
    expect(form.status).toBe(415)
    expect(await new CertificateStore(h.app.services).certificates('admin')).toEqual([])
    // The same request from OTPKI's own origin is an administrator's to make.
    const sameSite = await admin.request(`${h.url}/admin/users/admin/certificates`, {
      method: 'POST',
      headers: { origin: new URL(h.url).origin, 'content-type': 'application/json' },
      body,
    })
    expect(sameSite.status).toBe(201)
  })
})
