import { describe, expect, it } from 'vitest'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, signIn, signInUntilCallback, startHarness } from '../support/harness.ts'

/** SECURITY.md and issue 6: the headers every response carries. */
describe('response headers', () => {
  const track = closeAfterEach()

  const expectPageHeaders = (headers: Headers, where: string) => {
    const csp = headers.get('content-security-policy') ?? ''
    expect(csp, where).toContain("frame-ancestors 'none'")
    expect(csp, where).not.toMatch(/unsafe-inline|script-src[^;]*\*/)
    expect(csp, where).toMatch(/default-src 'none'/)
    expect(headers.get('x-content-type-options'), where).toBe('nosniff')
    expect(headers.get('referrer-policy'), where).toBe('no-referrer')
    expect(headers.get('cache-control'), where).toBe('no-store')
  }

  it('on every page, the callback and authenticated answers', async () => {
    const h = track(await startHarness())
    const browser = new TestBrowser()
    const pages = ['/auth/sign-in', '/auth/signed-out', '/no/such/page', '/auth/callback?code=x&state=y']
    for (const path of pages) expectPageHeaders((await browser.request(`${h.url}${path}`)).headers, path)
    const callback = await signInUntilCallback(browser, h, 'alice')
    const landed = await browser.request(callback.href)
    expectPageHeaders(landed.headers, 'callback')
    const home = await browser.request(`${h.url}/`)
    expect(home.status).toBe(200)
    expectPageHeaders(home.headers, 'signed-in page')
    const me = await browser.request(`${h.url}/auth/me`)
    expect(me.headers.get('cache-control')).toBe('no-store')
    expect(me.headers.get('x-content-type-options')).toBe('nosniff')
    // No page loads a script at all.
    for (const path of ['/', '/auth/sign-in'])
      expect((await browser.request(`${h.url}${path}`)).body).not.toMatch(/<script/i)
  })

  it('a signed-in page is never framed or cached, and the session cookie is HttpOnly and SameSite=Lax', async () => {
    const h = track(await startHarness())
    const browser = new TestBrowser()
    await signIn(browser, h, 'alice')
    const cookies = await browser.jar.getCookies(h.url)
    const session = cookies.find((c) => c.key === 'otpki_session')!
    expect(session.httpOnly).toBe(true)
    expect(session.sameSite).toBe('lax')
    expect(session.path).toBe('/')
  })
})
