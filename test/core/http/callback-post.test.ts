import { describe, expect, it } from 'vitest'
import { TestBrowser } from '../../support/browser.ts'
import { closeAfterEach, me, signInUntilCallback, startHarness } from '../../support/harness.ts'

describe('the callback accepts GET and POST, and hands the request to the method', () => {
  const track = closeAfterEach()

  it('an authorization response posted as a form (response_mode=form_post) signs in', async () => {
    const h = track(await startHarness())
    const browser = new TestBrowser()
    const callback = await signInUntilCallback(browser, h, 'alice')
    const form = Object.fromEntries(callback.searchParams)
    expect(form.code).toBeDefined()
    const res = await browser.request(`${h.url}/auth/callback`, { form })
    expect(res.status).toBe(303)
    expect((await me(browser, h)).body.user.username).toBe('alice')
  })

  it('a posted response is checked like one in the query: an altered state is refused', async () => {
    const h = track(await startHarness())
    const browser = new TestBrowser()
    const callback = await signInUntilCallback(browser, h, 'alice')
    const res = await browser.request(`${h.url}/auth/callback`, {
      form: { ...Object.fromEntries(callback.searchParams), state: 'forged' },
    })
    expect(res.status).toBe(400)
    expect((await me(browser, h)).status).toBe(401)
  })
})
