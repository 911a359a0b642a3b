import { describe, expect, it } from 'vitest'
import { hashId } from '../../core/sessions/ids.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, signIn, startHarness } from '../support/harness.ts'

describe('the console ends any session, however many there are', () => {
  const track = closeAfterEach()

  it("a user's oldest of 150 sessions, and any session from the sessions page", async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
      }),
    )
    const admin = new TestBrowser()
    expect((await signIn(admin, h, 'admin')).status).toBe(200)
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
    const alice = await h.app.users.requireUser('alice')
    const ids: string[] = []
    for (let i = 0; i < 150; i++)
      ids.push(
        (
          await h.app.sessions.create({
            user: alice,
            method: 'oidc',
            provider: 'dev',
            maxInactive: 600,
            maxLength: 600,
          })
        ).id,
      )
    const page = await admin.request(`${h.url}/admin/users/alice`, { headers: { accept: 'text/html' } })
    const csrf = /action=session-end"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"/.exec(page.body)![1]!

    const oldest = hashId(ids[0]!)
    const ended = await admin.request(`${h.url}/admin/users/alice?action=session-end`, {
      form: { csrf, session: oldest },
    })
    expect(ended.status).toBe(303)
    expect(await h.app.sessions.lookup(ids[0]!)).toBeUndefined()
    expect(await h.app.sessions.lookup(ids[1]!)).toBeDefined()

    const second = await admin.request(`${h.url}/admin/sessions`, { form: { csrf, session: hashId(ids[1]!) } })
    expect(second.status).toBe(303)
    expect(await h.app.sessions.lookup(ids[1]!)).toBeUndefined()
    // Not a session of hers: refused, and nothing ends.
    const adminSession = (await h.app.sessions.list({ limit: 1000 })).find((s) => s.username === 'admin')!
    const wrong = await admin.request(`${h.url}/admin/users/alice?action=session-end`, {
      form: { csrf, session: adminSession.idHash },
    })
    expect(wrong.status).toBe(404)
    expect((await admin.request(`${h.url}/auth/me`)).status).toBe(200)
  })
})
