import { writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import type { Locator, Page } from 'playwright-core'
import { describe, expect, it } from 'vitest'
import { CHROMIUM, SCREENSHOTS, chromiumPerSuite } from '../support/chromium.ts'
import { closeAfterEach, startHarness, type Harness } from '../support/harness.ts'
import { needs } from '../support/needs.ts'

/** A locator's text, once it is there. */
async function text(locator: Locator): Promise<string> {
  await locator.waitFor({ state: 'visible' })
  return ((await locator.textContent()) ?? '').trim()
}

/** The text a control is announced with: its own text, its <label for>, or aria-label (runs in the page). */
/** A 1x1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
)

const accessibleName = (el: {
  textContent: string | null
  id: string
  ownerDocument: { querySelector(s: string): { textContent: string | null } | null }
  getAttribute(n: string): string | null
}) =>
  el.textContent?.trim() ||
  (el.id ? el.ownerDocument.querySelector(`label[for="${el.id}"]`)?.textContent : '') ||
  el.getAttribute('aria-label') ||
  ''

async function focused(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => el === el.ownerDocument.activeElement)
}

describe('pages in a real browser (Chromium)', () => {
  if (!needs('chromium', Boolean(CHROMIUM), 'apt-get install chromium')) return
  const track = closeAfterEach()
  const browser = chromiumPerSuite()

  const page = async (): Promise<Page> => {
    const context = await browser.newContext({ viewport: { width: 900, height: 700 } })
    return context.newPage()
  }
  const shot = (p: Page, name: string) => p.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })

  it('no provider: authentication is not available, contact an administrator', async () => {
    const h = track(await startHarness({ providers: () => ({}) }))
    const p = await page()
    await p.goto(`${h.url}/auth/sign-in`)
    expect(await text(p.getByRole('alert'))).toBe('Authentication is not available. Please contact an administrator.')
    await shot(p, 'sign-in-no-provider')
  })

  it('one provider: a button; several: a dropdown and "Sign in with SSO", without hidden or disabled ones', async () => {
    const h: Harness = track(await startHarness())
    const p = await page()
    await p.goto(`${h.url}/auth/sign-in`)
    await p.getByRole('button', { name: 'Sign in with Test SSO' }).waitFor({ state: 'visible' })
    await shot(p, 'sign-in-one-provider')
    for (const [file, extra] of [
      ['b.json', { displayName: 'Beta IdP', displayOrder: 2 }],
      ['a.json', { displayName: 'Alpha IdP', displayOrder: 1 }],
      ['hidden.json', { displayName: 'Hidden IdP', hideOnLoginPage: true }],
      ['off.json', { displayName: 'Disabled IdP', enabled: false }],
    ] as const) {
      await h.writeProvider(
        file,
        JSON.stringify({
          issuer: `http://127.0.0.${file.length}:9/${file}`,
          clientId: 'c',
          clientSecret: 's',
          ...extra,
        }),
      )
    }
    await p.goto(`${h.url}/auth/sign-in`)
    const select = p.getByLabel('Identity provider')
    await select.waitFor({ state: 'visible' })
    const options = await select.locator('option').allTextContents()
    expect(options.map((o) => o.replace(/ \(unavailable\)$/, ''))).toEqual(['Test SSO', 'Alpha IdP', 'Beta IdP'])
    await p.getByRole('button', { name: 'Sign in with SSO' }).waitFor({ state: 'visible' })
    await shot(p, 'sign-in-several-providers')
  })

  it('a provider icon (a file, or a URL read at load) stands beside its name, on the button and in the list', async () => {
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#c2410c"/></svg>'
    const served = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(svg))
    await new Promise<void>((resolve) => served.listen(0, '127.0.0.1', resolve))
    const iconUrl = `http://127.0.0.1:${(served.address() as { port: number }).port}/icon.svg`
    try {
      const h: Harness = track(
        await startHarness({ providers: ({ providerJson }) => ({ 'dev.json': providerJson({ icon: 'dev.png' }) }) }),
      )
      await writeFile(join(h.providersDir, 'dev.png'), PNG)
      await h.writeProvider('dev.json', h.providerJson({ icon: 'dev.png' }))
      const p = await page()
      await p.goto(`${h.url}/auth/sign-in`)
      const button = p.getByRole('button', { name: 'Sign in with Test SSO' })
      expect(await button.locator('img.provider-icon').getAttribute('src')).toBe(
        `data:image/png;base64,${PNG.toString('base64')}`,
      )
      expect(
        await button.locator('img').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
      ).toBe(1)
      await shot(p, 'sign-in-provider-icon-button')
      await h.writeProvider(
        'corp.json',
        JSON.stringify({
          displayName: 'Corp IdP',
          issuer: 'http://127.0.0.9:9/corp',
          clientId: 'c',
          clientSecret: 's',
          icon: iconUrl,
        }),
      )
      await p.goto(`${h.url}/auth/sign-in`)
      // Chromium's customizable select shows the icons in the list itself.
      const icons = p.locator('select#provider option img.provider-icon')
      expect(await icons.count()).toBe(2)
      expect(await p.locator('option[value="corp"] img').getAttribute('src')).toBe(
        `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`,
      )
      await shot(p, 'sign-in-provider-icons')
      // Chosen, the provider's icon shows in the closed list too.
      expect(await p.locator('select#provider selectedcontent img.provider-icon').count()).toBe(1)
      await p.getByLabel('Identity provider').click()
      await shot(p, 'sign-in-provider-icons-open')
    } finally {
      served.close()
    }
  })

  it('signs in through the provider’s login form, shows who you are, and signs out', async () => {
    const h = track(await startHarness())
    const p = await page()
    await p.goto(`${h.url}/`)
    await p.getByRole('button', { name: 'Sign in with Test SSO' }).click()
    await p.getByLabel('Username').fill('admin')
    await p.getByLabel('Password').fill('admin')
    await shot(p, 'provider-login')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(`${h.url}/`)
    await p.getByRole('heading', { name: 'You are signed in' }).waitFor({ state: 'visible' })
    expect(await text(p.locator('[data-field="username"]'))).toBe('admin')
    expect(await text(p.locator('[data-field="name"]'))).toBe('Ada Admin')
    expect(await text(p.locator('[data-field="email"]'))).toBe('admin@example.test')
    await shot(p, 'signed-in')
    await p.getByRole('button', { name: 'Sign out' }).click()
    await p.getByRole('button', { name: 'Sign out' }).click() // the provider asks to confirm
    await p.waitForURL(/\/auth\/signed-out/)
    expect(await text(p.getByRole('status'))).toBe('You are signed out.')
    await p.getByRole('button', { name: 'Sign in with Test SSO' }).waitFor({ state: 'visible' })
    await shot(p, 'signed-out')
    expect((await p.request.get(`${h.url}/auth/me`)).status()).toBe(401)
  })

  it('an error page says what happened, and nothing more', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownUsers: false }) }),
      }),
    )
    const p = await page()
    await p.goto(`${h.url}/auth/sign-in?provider=dev`)
    await p.getByLabel('Username').fill('alice')
    await p.getByLabel('Password').fill('alice')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.getByRole('heading', { name: 'Access denied' }).waitFor({ state: 'visible' })
    expect(await text(p.getByRole('alert'))).toContain('There is no OTPKI account for you yet')
    await p.getByRole('link', { name: 'Back to sign-in' }).waitFor({ state: 'visible' })
    await shot(p, 'error-unknown-user')
  })

  it('works with the keyboard alone, and every control has a label', async () => {
    const h = track(await startHarness())
    await h.writeProvider(
      'second.json',
      JSON.stringify({ displayName: 'Second IdP', issuer: 'http://127.0.0.9:9', clientId: 'c', clientSecret: 's' }),
    )
    const p = await page()
    await p.goto(`${h.url}/auth/sign-in`)
    await p.keyboard.press('Tab')
    expect(await focused(p.getByLabel('Identity provider'))).toBe(true)
    await p.keyboard.press('Tab')
    expect(await focused(p.getByRole('button', { name: 'Sign in with SSO' }))).toBe(true)
    await p.keyboard.press('Enter')
    await p.waitForURL(/\/interaction\//, { timeout: 5000 })
    await shot(p, 'keyboard-provider-login')
    await p.keyboard.type('alice')
    await p.keyboard.press('Tab')
    await p.keyboard.type('alice')
    await p.keyboard.press('Enter')
    await p.waitForURL(`${h.url}/`)
    expect(await text(p.locator('[data-field="username"]'))).toBe('alice')
    for (const control of await p.locator('select, input:not([type=hidden]), button').all()) {
      const name = await control.evaluate(accessibleName)
      expect(name.trim(), await control.evaluate((el) => el.outerHTML)).not.toBe('')
    }
    await shot(p, 'signed-in-keyboard')
  })

  it('a signed-in visitor on the sign-in page may continue or sign out; the signed-in page states the limits', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ sessionMaxInactive: '20m', sessionMaxLength: '8h' }),
        }),
      }),
    )
    const p = await page()
    await p.goto(`${h.url}/auth/sign-in`)
    await p.getByRole('button', { name: 'Sign in with Test SSO' }).click()
    await p.getByLabel('Username').fill('alice')
    await p.getByLabel('Password').fill('alice')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(`${h.url}/`)
    expect(await text(p.locator('[data-field="idle-limit"]'))).toMatch(
      /^Signed out after 20 minutes without use \(if unused from now: \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$/,
    )
    expect(await text(p.locator('[data-field="absolute-limit"]'))).toMatch(
      /^Signed out at \d{4}-\d\d-\d\d \d\d:\d\d UTC at the latest, in (8 hours|7 hours 59 minutes), however much you use it$/,
    )
    await shot(p, 'signed-in-limits')

    await p.goto(`${h.url}/auth/sign-in?returnTo=%2Fsomewhere`)
    expect(await text(p.locator('[data-field="signed-in-as"]'))).toBe('alice')
    expect(await p.getByRole('link', { name: 'Continue as alice' }).getAttribute('href')).toBe('/somewhere')
    await shot(p, 'sign-in-while-signed-in')
    await p.getByRole('button', { name: 'Sign out' }).click()
    await p.waitForURL(/\/interaction\/|\/session\/end|\/auth\/signed-out/)
    expect((await p.request.get(`${h.url}/auth/me`)).status()).toBe(401)
  })

  it('an unreachable provider is shown as unavailable and cannot be chosen', async () => {
    const h = track(await startHarness())
    await h.writeProvider(
      'down.json',
      JSON.stringify({ displayName: 'Down IdP', issuer: 'http://127.0.0.9:9', clientId: 'c', clientSecret: 's' }),
    )
    // The reload prepares it once: wait until it is known to be unavailable.
    await h.logs.waitFor((l) => l.msg === 'provider unavailable' && l.issuer === 'http://127.0.0.9:9')
    const p = await page()
    await p.goto(`${h.url}/auth/sign-in`)
    const down = p.locator('option', { hasText: 'Down IdP' })
    expect(await down.textContent()).toBe('Down IdP (unavailable)')
    expect(await down.isDisabled()).toBe(true)
    expect(await p.locator('option', { hasText: 'Test SSO' }).isDisabled()).toBe(false)
    await shot(p, 'sign-in-provider-unavailable')

    // The only provider, unavailable: its button is disabled and the page says why.
    await h.removeProvider('dev.json')
    await p.goto(`${h.url}/auth/sign-in`)
    expect(await p.getByRole('button', { name: 'Sign in with Down IdP' }).isDisabled()).toBe(true)
    expect(await text(p.getByRole('alert'))).toBe('Down IdP is unavailable right now. Please try again in a moment.')
  })

  it('at 375 px nothing overflows or breaks mid-word: sign-in, the provider login, signed in, an error', async () => {
    const h = track(await startHarness())
    await h.writeProvider(
      'long.json',
      JSON.stringify({
        displayName: 'Corporate Single Sign-On for Engineering',
        issuer: 'http://127.0.0.9:9',
        clientId: 'c',
        clientSecret: 's',
      }),
    )
    const context = await browser.newContext({ viewport: { width: 375, height: 740 } })
    const p = await context.newPage()
    const fits = async (name: string) => {
      expect(await p.evaluate('document.documentElement.scrollWidth'), name).toBeLessThanOrEqual(375)
      // A word broken across two lines renders as two boxes: every word must render as one.
      const broken = await p.evaluate(`(() => {
        const out = []
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          for (const match of node.textContent.matchAll(/\\S+/g)) {
            const range = document.createRange()
            range.setStart(node, match.index)
            range.setEnd(node, match.index + match[0].length)
            const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top)))
            if (lines.size > 1) out.push(match[0])
          }
        }
        return out
      })()`)
      await shot(p, `375-${name}`)
      expect(broken, name).toEqual([])
    }
    await p.goto(`${h.url}/auth/sign-in`)
    await fits('sign-in')
    await p.getByRole('button', { name: 'Sign in with SSO' }).click()
    await p.getByLabel('Username').waitFor()
    await fits('provider-login')
    await p.getByLabel('Username').fill('alice')
    await p.getByLabel('Password').fill('alice')
    await p.getByRole('button', { name: 'Sign in' }).click()
    await p.waitForURL(`${h.url}/`)
    await fits('signed-in')
    await p.goto(`${h.url}/auth/callback?state=x&code=y`)
    await fits('error')
  })
})
