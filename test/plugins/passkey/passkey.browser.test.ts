import { join } from 'node:path'
import type { BrowserContext, CDPSession, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import passkeyPlugin from '../../../plugins/passkey/index.ts'
import { CHROMIUM, SCREENSHOTS, chromiumPerSuite } from '../../support/chromium.ts'
import { closeAfterEach, startHarness, type Harness } from '../../support/harness.ts'
import { needs } from '../../support/needs.ts'

const USERS = {
  alice: { password: 'alice', claims: { preferred_username: 'alice', given_name: 'Alice', roles: ['staff'] } },
  admin: { password: 'admin', claims: { preferred_username: 'admin', roles: ['admin'] } },
}

interface VirtualCredential {
  credentialId: string
  isResidentCredential: boolean
  rpId: string
  privateKey: string
  userHandle: string
  signCount: number
}

describe('passkeys in a real browser (Chromium with a virtual authenticator)', () => {
  if (!needs('chromium', Boolean(CHROMIUM), 'apt-get install chromium')) return
  const track = closeAfterEach()
  const browser = chromiumPerSuite()

  const start = () =>
    startHarness({
      users: USERS,
      hostname: 'localhost',
      providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
      overrides: { plugins: [passkeyPlugin], adminRoles: ['admin'] },
    })
  const shot = (p: Page, name: string) => p.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })

  /** A browser profile with a platform authenticator that verifies its user (as a fingerprint would) at once. */
  const device = async (): Promise<{
    context: BrowserContext
    page: Page
    cdp: CDPSession
    authenticatorId: string
  }> => {
    const context = await browser.newContext({ viewport: { width: 1000, height: 800 } })
    const page = await context.newPage()
    page.setDefaultTimeout(8000)
    page.on('dialog', (d) => void d.accept())
    const cdp = await context.newCDPSession(page)
    await cdp.send('WebAuthn.enable')
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        automaticPresenceSimulation: true,
      },
    })
    return { context, page, cdp, authenticatorId }
  }
  const credentials = async (d: { cdp: CDPSession; authenticatorId: string }) =>
    (await d.cdp.send('WebAuthn.getCredentials', { authenticatorId: d.authenticatorId }))
      .credentials as VirtualCredential[]

  const signInWithProvider = async (p: Page, h: Harness, username: keyof typeof USERS) => {
    await p.goto(`${h.url}/`)
    await p.getByRole('button', { name: 'Sign in with Test SSO' }).click()
    await p.getByLabel('Username').fill(username)
    await p.getByLabel('Password').fill(USERS[username].password)
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.getByRole('heading', { name: 'You are signed in' }).waitFor()
  }
  const registerPasskey = async (p: Page, name: string) => {
    await p.getByRole('link', { name: 'Passkeys' }).click()
    await p.getByRole('heading', { name: 'Your passkeys' }).waitFor()
    await p.getByLabel('Name of the new passkey').fill(name)
    await p.getByRole('button', { name: 'Add a passkey' }).click()
    await p.waitForURL(/\/auth\/passkeys\?added=1$/)
  }
  /** Signs out; a provider's session ends too (the provider asks to confirm), a passkey session only here. */
  const signOut = async (p: Page, h: Harness) => {
    await p.goto(`${h.url}/`)
    await p.getByRole('button', { name: 'Sign out' }).click()
    await p.waitForURL((url) => url.origin !== h.url || url.pathname === '/auth/signed-out')
    if (!p.url().startsWith(h.url)) await p.getByRole('button', { name: 'Sign out' }).click()
    await p.waitForURL(/\/auth\/signed-out/)
    await p.getByText('You are signed out.').waitFor()
  }
  /** Chooses "Sign in with a passkey"; the ceremony page asks the authenticator at once and posts its answer. */
  const signInWithPasskey = async (p: Page, h: Harness) => {
    await p.goto(`${h.url}/auth/sign-in`)
    await p.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await p.waitForURL((url) => url.pathname !== '/auth/passkeys/sign-in' && url.pathname !== '/auth/sign-in')
  }
  /** GET /auth/me with the browser's cookies. */
  const whoAmI = async (p: Page, h: Harness) => {
    const res = await p.request.get(`${h.url}/auth/me`)
    return { status: res.status(), body: (await res.json()) as { method?: string; user?: { username: string } } }
  }

  it('registers a passkey, signs in with it after signing out, and once it is removed the sign-in is refused', async () => {
    const h = track(await start())
    const d = await device()
    const p = d.page
    // Before any passkey is registered, the ceremony page says no passkey was used and offers to try again.
    await p.goto(`${h.url}/auth/sign-in`)
    await p.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await p.getByText('No passkey was used').waitFor()
    expect(await p.getByRole('button', { name: 'Use a passkey' }).isEnabled()).toBe(true)
    await shot(p, 'passkey-ceremony-no-passkey')
    await signInWithProvider(p, h, 'alice')
    await shot(p, 'passkey-signed-in-page')
    expect(await p.getByRole('link', { name: 'Passkeys' }).isVisible()).toBe(true)
    await registerPasskey(p, 'Work laptop')
    expect(await p.locator('[data-field="passkey-name"]').allTextContents()).toEqual(['Work laptop'])
    expect(await p.locator('[data-field="passkey-last-used"]').textContent()).toBe('never')
    await shot(p, 'passkey-registered')
    const [stored] = await credentials(d)
    expect(stored).toMatchObject({ rpId: 'localhost', isResidentCredential: true })

    await signOut(p, h)
    await shot(p, 'passkey-sign-in-page')
    await signInWithPasskey(p, h)
    await p.getByRole('heading', { name: 'You are signed in' }).waitFor()
    expect(await p.locator('[data-field="provider"]').textContent()).toBe('a passkey')
    expect(await whoAmI(p, h)).toMatchObject({ status: 200, body: { method: 'passkey', user: { username: 'alice' } } })
    await shot(p, 'passkey-signed-in-with-passkey')
    expect((await credentials(d))[0]!.signCount).toBeGreaterThan(stored!.signCount)

    await p.goto(`${h.url}/auth/passkeys`)
    expect(await p.locator('[data-field="passkey-last-used"] time').count()).toBe(1)
    await p.getByRole('button', { name: 'Remove' }).click()
    await p.waitForURL(/\/auth\/passkeys\?removed=1$/)
    await p.locator('[data-field="no-passkeys"]').waitFor()

    await signOut(p, h)
    await signInWithPasskey(p, h)
    await p.getByText('This passkey is not registered with OTPKI').waitFor()
    await shot(p, 'passkey-removed-refused')
    expect((await whoAmI(p, h)).status).toBe(401)
    await d.context.close()
  })

  it('refuses a copy of the passkey whose counter is behind, a replayed assertion, and a challenge of another browser', async () => {
    const h = track(await start())
    const original = await device()
    await signInWithProvider(original.page, h, 'alice')
    await registerPasskey(original.page, 'Phone')
    await signOut(original.page, h)

    // The original signs in; its assertion is kept as it went to the callback.
    let captured: string | undefined
    await original.page.route('**/auth/callback', async (route) => {
      captured = route.request().postData() ?? undefined
      await route.continue()
    })
    await signInWithPasskey(original.page, h)
    expect((await whoAmI(original.page, h)).status).toBe(200)
    expect(captured).toContain('credential=')

    /** Another browser holding the same passkey, its counter ahead: its own assertions would pass. */
    const holder = async (ahead: number) => {
      const d = await device()
      for (const c of await credentials(original))
        await d.cdp.send('WebAuthn.addCredential', {
          authenticatorId: d.authenticatorId,
          credential: { ...c, signCount: c.signCount + ahead },
        })
      return d
    }
    // Replayed in another browser, in place of that browser's own assertion.
    const replaying = await holder(5)
    await replaying.page.route('**/auth/callback', (route) => route.continue({ postData: captured! }))
    await signInWithPasskey(replaying.page, h)
    await replaying.page.getByText('The passkey sign-in was refused').waitFor()
    expect((await whoAmI(replaying.page, h)).status).toBe(401)
    await shot(replaying.page, 'passkey-replay-refused')

    // An assertion made for one browser's challenge, never used, posted by another browser.
    let unused: string | undefined
    const first = await holder(10)
    await first.page.route('**/auth/callback', async (route) => {
      unused = route.request().postData() ?? undefined
      await route.abort()
    })
    await first.page.goto(`${h.url}/auth/sign-in`)
    await first.page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await expect.poll(() => unused).toContain('credential=')
    const second = await holder(20)
    await second.page.route('**/auth/callback', (route) => route.continue({ postData: unused! }))
    await signInWithPasskey(second.page, h)
    await second.page.getByText('The passkey sign-in was refused').waitFor()
    expect((await whoAmI(second.page, h)).status).toBe(401)

    // A copy of the key, made now, whose counter starts behind the original's.
    const [key] = await credentials(original)
    const copy = await device()
    await copy.cdp.send('WebAuthn.addCredential', {
      authenticatorId: copy.authenticatorId,
      credential: { ...key!, signCount: 0 },
    })
    await signInWithPasskey(copy.page, h)
    await copy.page.getByText('it may have been copied').waitFor()
    expect((await whoAmI(copy.page, h)).status).toBe(401)
    await shot(copy.page, 'passkey-clone-refused')
    expect(h.logs.lines.some((l) => /may have been cloned/.test(String(l.msg)))).toBe(true)
    for (const d of [original, replaying, first, second, copy]) await d.context.close()
  })

  it('a disabled user is refused; an administrator sees and revokes the passkey in the console', async () => {
    const h = track(await start())
    const d = await device()
    await signInWithProvider(d.page, h, 'alice')
    await registerPasskey(d.page, 'Security key')
    await signOut(d.page, h)
    const alice = (await h.app.users.findByUsername('alice'))!
    await h.app.users.setDisabled(alice.id, true)
    await signInWithPasskey(d.page, h)
    await d.page.getByText('Your OTPKI account is disabled').waitFor()
    await h.app.users.setDisabled(alice.id, false)

    const admin = await device()
    await signInWithProvider(admin.page, h, 'admin')
    await admin.page.goto(`${h.url}/admin/users/alice`)
    const section = admin.page.getByRole('region', { name: 'Passkeys' })
    expect(await section.getByRole('cell', { name: 'Security key' }).isVisible()).toBe(true)
    await shot(admin.page, 'passkey-console-section')
    await section.getByRole('button', { name: /^Revoke/ }).click()
    await expect.poll(() => admin.page.getByRole('cell', { name: 'Security key' }).count()).toBe(0)

    await signInWithPasskey(d.page, h)
    await d.page.getByText('This passkey is not registered with OTPKI').waitFor()
    for (const x of [d, admin]) await x.context.close()
  })
})
