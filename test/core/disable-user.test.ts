import { describe, expect, it } from 'vitest'
import { CertificateStore } from '../../plugins/client-certificate/certificate-store.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, forwardedCertificates, signIn, startHarness, type Harness } from '../support/harness.ts'
import { testDatabases } from '../support/postgres.ts'

const HTML = { accept: 'text/html' }

/** Posts a console action on a user's page, with the token that page carries for it. */
async function act(admin: TestBrowser, h: Harness, username: string, action: string): Promise<number> {
  const page = await admin.request(`${h.url}/admin/users/${username}`, { headers: HTML })
  const token = new RegExp(`action=${action}"[^>]*>\\s*<input type="hidden" name="csrf" value="([^"]+)"`).exec(
    page.body,
  )?.[1]
  expect(token, `a ${action} form on the page (${page.status})`).toBeDefined()
  const res = await admin.request(`${h.url}/admin/users/${username}?action=${action}`, { form: { csrf: token! } })
  return res.status
}

describe.each(testDatabases())('a disabled account signs in by no method (%s)', (database) => {
  const track = closeAfterEach()

  it('sessions end, sign-in, certificates and cached answers are refused; enabling lets it in again', async () => {
    const h = track(
      await startHarness({
        database,
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
        overrides: { clientCertificate: forwardedCertificates() },
      }),
    )
    const alice = new TestBrowser()
    expect((await signIn(alice, h, 'alice')).status).toBe(200)
    const ca = await TestCa.create()
    const robotCert = await ca.client('CN=robot')
    await new CertificateStore(h.app.services).createUserWith('robot', robotCert.certPem)
    const asRobot = () =>
      fetch(`${h.url}/auth/me`, {
        headers: { 'ssl-client-cert': encodeURIComponent(robotCert.certPem), 'ssl-client-verify': 'SUCCESS' },
      })
    // Both answered, and so cached.
    expect((await alice.request(`${h.url}/auth/me`)).status).toBe(200)
    expect((await asRobot()).status).toBe(200)

    const admin = new TestBrowser()
    expect((await signIn(admin, h, 'admin')).status).toBe(200)
    expect(await act(admin, h, 'alice', 'disable')).toBe(303)
    expect(await act(admin, h, 'robot', 'disable')).toBe(303)
    expect((await admin.request(`${h.url}/admin/users/alice`, { headers: HTML })).body).toContain(
      '<dd data-field="status">disabled</dd>',
    )

    expect((await alice.request(`${h.url}/auth/me`)).status).toBe(401)
    expect((await asRobot()).status).toBe(401)
    const again = await signIn(new TestBrowser(), h, 'alice')
    expect(again.status).toBe(403)
    expect(again.body).toContain('Your OTPKI account is disabled')
    // An administrator cannot lock themselves out.
    expect(await act(admin, h, 'admin', 'disable')).toBe(400)

    const events = JSON.parse((await admin.request(`${h.url}/admin/audit?kind=admin`)).body).events
    expect(events.map((e: { reason: string; username: string }) => `${e.reason} ${e.username}`)).toEqual([
      'user.disable robot',
      'user.disable alice',
    ])
    const refused = JSON.parse((await admin.request(`${h.url}/admin/audit?kind=sign-in&outcome=failure`)).body).events
    expect(refused[0]).toMatchObject({ reason: 'USER_DISABLED', provider: 'dev' })

    expect(await act(admin, h, 'alice', 'enable')).toBe(303)
    expect(await act(admin, h, 'robot', 'enable')).toBe(303)
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
    expect((await asRobot()).status).toBe(200)
  })
})
