import { join } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CHROMIUM, SCREENSHOTS, launchChromium } from '../support/chromium.ts'
import { closeAfterEach, startHarness, type Harness } from '../support/harness.ts'
import { needs } from '../support/needs.ts'

/** A locator's text, once it is there. */
async function text(locator: Locator): Promise<string> {
  await locator.waitFor({ state: 'visible' })
  return ((await locator.textContent()) ?? '').trim()
}

/** The text a control is announced with: its own text, its <label for>, or aria-label (runs in the page). */
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
  let browser: Browser
  beforeAll(async () => {
    browser = await launchChromium()
  })
  afterAll(() => browser?.close())

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
    expect(options.map((o) => o.replace(/ \(not reachable right now\)$/, ''))).toEqual([
      'Test SSO',
      'Alpha IdP',
      'Beta IdP',
    ])
    await p.getByRole('button', { name: 'Sign in with SSO' }).waitFor({ state: 'visible' })
    await shot(p, 'sign-in-several-providers')
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
})
