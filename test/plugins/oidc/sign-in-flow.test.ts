import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TestBrowser } from '../../support/browser.ts'
import { signIn, startHarness, type Harness } from '../../support/harness.ts'

describe('sign-in through a real OpenID provider', () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }) })
  })
  afterAll(() => h?.close())

  it('first sign-in creates the user and shows who they are', async () => {
    const browser = new TestBrowser()
    const page = await signIn(browser, h, 'admin')
    expect(page.status).toBe(200)
    expect(page.url).toBe(`${h.url}/`)
    expect(page.body).toContain('You are signed in')
    expect(page.body).toContain('>admin<')
    expect(page.body).toContain('Ada Admin')
    expect(page.body).toContain('admin@example.test')
    const me = await browser.request(`${h.url}/auth/me`)
    expect(me.status).toBe(200)
    expect(JSON.parse(me.body)).toMatchObject({
      user: { username: 'admin', firstName: 'Ada', lastName: 'Admin', email: 'admin@example.test', roles: ['admin'] },
      method: 'oidc',
      provider: 'dev',
    })
  })
})
