import { describe, expect, it } from 'vitest'
import type { Change } from '../../core/store/change-feed.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, me, signIn, startHarness } from '../support/harness.ts'
import { testDatabases } from '../support/postgres.ts'

describe.each(testDatabases())('a sign-in announces a user change only when it changed the user (%s)', (database) => {
  const track = closeAfterEach()

  it('the first sign-in and a changed claim announce; a sign-in that changes nothing does not', async () => {
    const h = track(
      await startHarness({
        database,
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
      }),
    )
    const announced: number[] = []
    h.app.feed.subscribe((change: Change) => {
      if (change.kind === 'user') announced.push(change.id)
    })
    const signInAs = async () => {
      const browser = new TestBrowser()
      expect((await signIn(browser, h, 'alice')).status).toBe(200)
      return browser
    }

    await signInAs()
    expect(announced).toHaveLength(1)
    const [aliceId] = announced

    // The same claims again: the user, its roles and identities are as they were.
    const unchanged = await signInAs()
    expect(announced).toHaveLength(1)
    expect((await me(unchanged, h)).body).toMatchObject({ user: { firstName: 'Alice', roles: [] } })

    // The provider now sends another first name and a role: the sync writes them and announces it,
    // and a session that was cached before sees the new values.
    const alice = h.provider.users.alice!
    alice.claims = { ...alice.claims, given_name: 'Alicia', roles: ['auditor'] }
    await signInAs()
    expect(announced).toEqual([aliceId, aliceId])
    expect((await me(unchanged, h)).body).toMatchObject({ user: { firstName: 'Alicia', roles: ['auditor'] } })

    // A role taken away at the provider is a change too.
    alice.claims = { ...alice.claims, roles: [] }
    await signInAs()
    expect(announced).toHaveLength(3)
    expect((await me(unchanged, h)).body).toMatchObject({ user: { roles: [] } })
  })
})
