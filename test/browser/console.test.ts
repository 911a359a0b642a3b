import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { CHROMIUM, SCREENSHOTS, chromiumPerSuite } from '../support/chromium.ts'
import { TestBrowser } from '../support/browser.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'
import {
  CLIENT,
  closeAfterEach,
  forwardedCertificates,
  signIn,
  startHarness,
  type Harness,
} from '../support/harness.ts'
import { needs } from '../support/needs.ts'

const USERS = {
  admin: { password: 'admin', claims: { preferred_username: 'admin', given_name: 'Ada', roles: ['admin'] } },
  alice: {
    password: 'alice',
    claims: { preferred_username: 'alice', email: 'alice@example.test', email_verified: true, roles: ['staff'] },
  },
  helen: { password: 'helen', claims: { preferred_username: 'helen', roles: ['helpdesk'] } },
}

describe('the administration console in a real browser (Chromium)', () => {
  if (!needs('chromium', Boolean(CHROMIUM), 'apt-get install chromium')) return
  const track = closeAfterEach()
  const browser = chromiumPerSuite()

  const start = (overrides: Record<string, unknown> = {}) =>
    startHarness({
      users: USERS,
      providers: ({ providerJson }) => ({
        'dev.json': providerJson({ createUnknownRoles: true, roleSyncScope: 'provider' }),
      }),
      overrides: { permissions: { manageSessions: ['helpdesk'] }, ...overrides },
    })
  const shot = (p: Page, name: string) => p.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
  /** Signs in through the pages, as a person would, and lands on `path`. */
  const signedIn = async (h: Harness, username: keyof typeof USERS, width = 1200): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width, height: 800 } })
    const p = await context.newPage()
    p.setDefaultTimeout(8000)
    await p.goto(`${h.url}/admin`)
    await p.getByRole('button', { name: 'Sign in with Test SSO' }).click()
    await p.getByLabel('Username').fill(username)
    await p.getByLabel('Password').fill(USERS[username].password)
    await p.getByRole('button', { name: 'Sign in' }).click()
    return p
  }
  /** Presses Tab until the element is focused (at most 60 times): the page works from the keyboard. */
  const tabTo = async (p: Page, selector: string) => {
    const target = p.locator(selector).first()
    for (let i = 0; i < 60; i++) {
      await p.keyboard.press('Tab')
      if (await target.evaluate((el) => el === el.ownerDocument.activeElement)) return
    }
    expect.fail(`Tab never reached ${selector}`)
  }
  const noHorizontalOverflow = async (p: Page) =>
    expect(await p.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      await p.evaluate('window.innerWidth'),
    )

  it('an administrator finds a user, grants and revokes a role, ends a session, and reads the audit, by keyboard', async () => {
    const h = track(await start())
    // Alice signs in elsewhere first: she has a session and a role from the provider.
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)

    const p = await signedIn(h, 'admin')
    await p.waitForURL(`${h.url}/admin/users`)
    await p.getByRole('heading', { name: 'Users' }).waitFor()
    expect(await p.locator('[aria-current="page"]').textContent()).toBe('Users')
    await shot(p, 'console-users')

    // Search by keyboard: type a prefix of the email, Enter.
    await tabTo(p, '#q')
    await p.keyboard.type('alice@')
    await p.keyboard.press('Enter')
    await p.waitForURL(/q=alice%40/)
    const rows = p.locator('tbody tr')
    expect(await rows.count()).toBe(1)
    expect(await rows.first().locator('td').first().textContent()).toBe('alice')

    await tabTo(p, 'a[href="/admin/users/alice"]')
    await p.keyboard.press('Enter')
    await p.getByRole('heading', { name: 'alice' }).waitFor()
    expect(await p.locator('[data-role="staff"]').textContent()).toBe('staff')
    expect(await p.getByText('from Test SSO').count()).toBe(1)

    await tabTo(p, '#grant-role')
    await p.keyboard.type('pki-operator')
    await p.keyboard.press('Enter')
    await p.getByRole('status').waitFor()
    expect(await p.getByRole('status').textContent()).toBe('The role was granted.')
    expect(await p.locator('ul.chips [data-role="pki-operator"]').count()).toBe(1)
    await shot(p, 'console-user')

    // The grant is live: alice's cached session now carries the role (it survives her next sign-in too).
    const again = new TestBrowser()
    expect((await signIn(again, h, 'alice')).status).toBe(200)
    const me = JSON.parse((await again.request(`${h.url}/auth/me`)).body)
    expect(me.user.roles).toEqual(['pki-operator', 'staff'])

    await tabTo(p, 'button[aria-label="Revoke pki-operator"]')
    await p.keyboard.press('Enter')
    await p.getByText('The role was revoked.').waitFor()
    expect(await p.locator('ul.chips [data-role="pki-operator"]').count()).toBe(0)

    // Two sessions of alice: end one, then all.
    expect(await p.locator('button[aria-label^="End session"]').count()).toBe(2)
    await tabTo(p, 'button[aria-label^="End session"]')
    await p.keyboard.press('Enter')
    await p.getByText('The session was ended.').waitFor()
    expect(await p.locator('button[aria-label^="End session"]').count()).toBe(1)
    await tabTo(p, 'button:has-text("Sign out everywhere")')
    await p.keyboard.press('Enter')
    await p.getByText('Every session of the user was ended.').waitFor()
    expect((await again.request(`${h.url}/auth/me`)).status).toBe(401)

    await p.goto(`${h.url}/admin/audit?user=alice`)
    await p.getByRole('heading', { name: 'Audit' }).waitFor()
    const reasons = await p.locator('td[data-label="Reason"]').allTextContents()
    expect(reasons).toEqual(expect.arrayContaining(['session.end-all', 'session.end', 'role.revoke', 'role.grant']))
    await shot(p, 'console-audit')

    await p.goto(`${h.url}/admin/providers`)
    expect(await p.locator('td[data-label="Status"] .state').first().textContent()).toBe('ready')
    expect(await p.locator('td[data-label="Sign-ins (24 h)"]').first().textContent()).toBe('3')
    await shot(p, 'console-providers')
    await p.getByRole('link', { name: 'Test SSO', exact: true }).click()
    await p.getByRole('heading', { name: 'Effective configuration' }).waitFor()
    const effective = (await p.locator('[data-field="effective"]').textContent()) ?? ''
    expect(JSON.parse(effective)).toMatchObject({
      name: 'dev',
      options: { clientId: CLIENT.clientId, clientSecret: '********' },
    })
    expect(effective).not.toContain(CLIENT.clientSecret)
    await shot(p, 'console-provider')

    await p.goto(`${h.url}/admin/sessions`)
    expect(await p.locator('td[data-label="User"]').first().textContent()).toContain('admin')
    await shot(p, 'console-sessions')
  })

  it('at 375 px every console page fits the width', async () => {
    const h = track(await start())
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
    const p = await signedIn(h, 'admin', 375)
    await p.waitForURL(`${h.url}/admin/users`)
    for (const path of [
      '/admin/users',
      '/admin/users/alice',
      '/admin/sessions',
      '/admin/audit',
      '/admin/providers',
      '/admin/providers/dev',
      '/admin/providers/new',
      '/admin/providers/dev/edit',
      '/admin/providers/dev/delete',
    ]) {
      await p.goto(`${h.url}${path}`)
      await p.locator('#page-title').waitFor()
      await noHorizontalOverflow(p)
      await shot(p, `console-375${path.replaceAll('/', '-')}`)
    }
  })

  it('an administrator writes a new provider file from the form, by keyboard: errors at their fields, the file shown, saved and live', async () => {
    const h = track(await start({ providerFilesWritable: true }))
    const p = await signedIn(h, 'admin')
    await p.waitForURL(`${h.url}/admin/users`)
    await p.goto(`${h.url}/admin/providers`)
    await tabTo(p, 'a[href="/admin/providers/new"]')
    await p.keyboard.press('Enter')
    await p.getByRole('heading', { name: 'New identity provider' }).waitFor()

    await tabTo(p, '#field-name')
    await p.keyboard.type('partner')
    await p.keyboard.press('Tab')
    await p.keyboard.type('Partner SSO')
    await p.keyboard.press('Tab')
    await p.keyboard.type('not a url')
    // Checked as it is typed: the issuer's error appears at its field before any button is pressed.
    await p.locator('[data-live-error="issuer"]').waitFor()
    expect(await p.locator('[data-live-error="issuer"]').textContent()).toBe('must be an absolute URL')
    expect(await p.locator('#field-issuer').getAttribute('aria-invalid')).toBe('true')
    await shot(p, 'console-provider-form-live')
    await tabTo(p, '#field-clientId')
    await p.keyboard.type('otpki')
    await tabTo(p, 'button[value="check"]')
    await p.keyboard.press('Enter')
    await p.locator('#form-errors').waitFor()
    expect(await p.locator('[data-error-for="issuer"]').count()).toBe(1)
    expect(await p.locator('#field-issuer').getAttribute('aria-invalid')).toBe('true')
    // What was typed is still there.
    expect(await p.locator('#field-displayName').inputValue()).toBe('Partner SSO')
    await shot(p, 'console-provider-form-errors')

    await p.locator('#field-issuer').focus()
    await p.keyboard.press('ControlOrMeta+a')
    await p.keyboard.type('http://127.0.0.1:9/realms/partner')
    await p.locator('[data-live-error="issuer"]').waitFor({ state: 'detached' })
    await tabTo(p, '#field-clientSecret-mode')
    await p.keyboard.press('Tab')
    await p.keyboard.type('PARTNER_SECRET')
    await tabTo(p, 'button[value="check"]')
    await p.keyboard.press('Enter')
    await p.getByRole('heading', { name: /The file:/ }).waitFor()
    const text = JSON.parse((await p.locator('[data-field="file"]').textContent()) ?? '')
    expect(text).toMatchObject({ name: 'partner', issuer: 'http://127.0.0.1:9/realms/partner', clientId: 'otpki' })
    expect(text.clientSecret).toEqual({ env: 'PARTNER_SECRET' })
    await shot(p, 'console-provider-form-file')
    // The secret lives in the deployment's environment: saving here needs it here.
    process.env.PARTNER_SECRET = 'partner-secret-value'
    try {
      await tabTo(p, 'button[value="save"]')
      await p.keyboard.press('Enter')
      await p.waitForURL(`${h.url}/admin/providers/partner?done=provider-saved`)
    } finally {
      delete process.env.PARTNER_SECRET
    }
    expect(await p.getByRole('status').first().textContent()).toContain('saved')
    expect(h.app.registry.get('partner')?.definition.displayName).toBe('Partner SSO')
    const file = JSON.parse(await readFile(join(h.providersDir, 'partner.json'), 'utf8'))
    expect(file.clientSecret).toEqual({ env: 'PARTNER_SECRET' })
    await shot(p, 'console-provider-saved')
  })

  it('each permission opens only its pages; a post without the token is refused', async () => {
    const h = track(await start())
    const p = await signedIn(h, 'helen')
    // Helen holds manageSessions only: /admin leads there, and the navigation shows nothing else.
    await p.waitForURL(`${h.url}/admin/sessions`)
    expect(await p.locator('nav[aria-label="Administration"] a').allTextContents()).toEqual(['Sessions'])
    for (const path of ['/admin/users', '/admin/audit', '/admin/providers', '/admin/users/alice']) {
      const answer = await p.goto(`${h.url}${path}`)
      expect(answer?.status(), path).toBe(403)
    }
    // The page's own cookies, a forged token: refused, and so is a post from another origin.
    const forged = await p.context().request.post(`${h.url}/admin/sessions`, { form: { session: 'x', csrf: 'forged' } })
    expect(forged.status()).toBe(403)
    const crossSite = await p
      .context()
      .request.post(`${h.url}/admin/sessions`, { form: { session: 'x' }, headers: { origin: 'https://evil.example' } })
    expect(crossSite.status()).toBe(403)
    // Someone with no permission at all is told so.
    const alice = await signedIn(h, 'alice')
    await alice.waitForURL(`${h.url}/admin`)
    expect(await alice.locator('body').textContent()).toContain('holds no administration permission')
  })

  it("a plugin's section: client certificates uploaded as DER or PEM, listed and detached", async () => {
    const h = track(
      await startHarness({
        users: USERS,
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
        overrides: { clientCertificate: forwardedCertificates() },
      }),
    )
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
    const ca = await TestCa.create()
    const cert = await ca.client('CN=alice')
    const der = Buffer.from(cert.certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64')
    const dir = await mkdtemp(join(tmpdir(), 'otpki-upload-'))
    await writeFile(join(dir, 'alice.der'), der)
    await writeFile(join(dir, 'junk.pem'), 'not a certificate')

    const p = await signedIn(h, 'admin')
    await p.waitForURL(`${h.url}/admin/users`)
    await p.goto(`${h.url}/admin/users/alice`)
    await p.getByRole('heading', { name: 'Client certificates' }).waitFor()
    await p.getByLabel('Attach a certificate (PEM or DER file)').setInputFiles(join(dir, 'alice.der'))
    await p.getByRole('button', { name: 'Upload' }).click()
    await p.getByText('Added.').waitFor()
    const fingerprint = await p.locator('td[data-label="SHA-256 fingerprint"]').textContent()
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/)
    expect(
      await p.locator('section[aria-labelledby="section-certificates"] td[data-label="Subject"]').textContent(),
    ).toContain('CN=alice')
    await shot(p, 'console-user-certificates')
    // The certificate signs alice in at once.
    const asAlice = () =>
      fetch(`${h.url}/auth/me`, {
        headers: { 'ssl-client-cert': encodeURIComponent(cert.certPem), 'ssl-client-verify': 'SUCCESS' },
      })
    expect((await asAlice()).status).toBe(200)

    // Not a certificate: a clear refusal, nothing attached.
    await p.getByLabel('Attach a certificate (PEM or DER file)').setInputFiles(join(dir, 'junk.pem'))
    await p.getByRole('button', { name: 'Upload' }).click()
    expect(await p.locator('main').textContent()).toMatch(/certificate/i)
    await p.goto(`${h.url}/admin/users/alice`)
    expect(await p.locator('td[data-label="SHA-256 fingerprint"]').count()).toBe(1)

    await p.getByRole('button', { name: `Detach ${fingerprint}` }).click()
    await p.getByText('Removed.').waitFor()
    expect(await p.locator('td[data-label="SHA-256 fingerprint"]').count()).toBe(0)
    expect((await asAlice()).status).toBe(401)
    const audit = await p.context().request.get(`${h.url}/admin/audit?kind=admin`, {
      headers: { accept: 'application/json' },
    })
    const reasons = (await audit.json()).events.map((e: { reason: string }) => e.reason)
    expect(reasons).toEqual(['certificates.remove', 'certificates.add'])
  })
})
