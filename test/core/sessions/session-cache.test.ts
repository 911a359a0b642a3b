import { describe, expect, it } from 'vitest'
import { TestBrowser } from '../../support/browser.ts'
import { closeAfterEach, signIn, startHarness } from '../../support/harness.ts'
import { testDatabases } from '../../support/postgres.ts'

describe.each(testDatabases())('the session cache (%s)', (database) => {
  const track = closeAfterEach()

  it('holds sessionCacheSize sessions; one pushed out is read from the database again, still valid', async () => {
    const h = track(await startHarness({ database, overrides: { sessionCacheSize: 2 } }))
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
    const user = await h.app.users.requireUser('alice')
    const ids: string[] = []
    for (let i = 0; i < 3; i++) {
      const { id } = await h.app.sessions.create({
        user,
        method: 'oidc',
        provider: 'dev',
        maxInactive: 600,
        maxLength: 600,
      })
      expect(await h.app.sessions.lookup(id)).toBeDefined()
      ids.push(id)
    }
    // The least recently used one is no longer in memory; the two latest answer without the database.
    expect(h.app.sessions.peek(ids[0])).toBeUndefined()
    expect(h.app.sessions.peek(ids[1])).toBeDefined()
    expect(h.app.sessions.peek(ids[2])).toBeDefined()
    expect((await h.app.sessions.lookup(ids[0]))?.principal.user.username).toBe('alice')
    expect(h.app.sessions.peek(ids[0])).toBeDefined()
  })
})
