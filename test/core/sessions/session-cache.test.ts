import { describe, expect, it } from 'vitest'
import { hashId } from '../../../core/sessions/ids.ts'
import { SessionSchema } from '../../../core/store/entities.ts'
import { TestBrowser } from '../../support/browser.ts'
import { closeAfterEach, type Harness, signIn, startHarness } from '../../support/harness.ts'
import { testDatabases } from '../../support/postgres.ts'

/** Signs alice in once, then opens `count` more sessions of hers (not looked up yet). */
async function aliceWithSessions(h: Harness, count: number): Promise<{ h: Harness; ids: string[] }> {
  expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
  const user = await h.app.users.requireUser('alice')
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const session = { user, method: 'oidc', provider: 'dev', maxInactive: 600, maxLength: 600 }
    ids.push((await h.app.sessions.create(session)).id)
  }
  return { h, ids }
}

/** Runs `work`, counting the session reads it sends to the database. */
async function sessionReads<T>(h: Harness, work: () => Promise<T>): Promise<{ answers: T; queries: number }> {
  let queries = 0
  const knex = h.app.orm.em.getConnection().getKnex()
  const count = (query: { sql: string }) => {
    if (query.sql.includes('from sessions s join users u')) queries++
  }
  knex.on('query', count)
  try {
    return { answers: await work(), queries }
  } finally {
    knex.off('query', count)
  }
}

describe.each(testDatabases())('the session cache (%s)', (database) => {
  const track = closeAfterEach()

  it('holds sessionCacheSize sessions; one pushed out is read from the database again, still valid', async () => {
    const { h, ids } = await aliceWithSessions(
      track(await startHarness({ database, overrides: { sessionCacheSize: 2 } })),
      3,
    )
    for (const id of ids) expect(await h.app.sessions.lookup(id)).toBeDefined()
    // The least recently used one is no longer in memory; the two latest answer without the database.
    expect(h.app.sessions.peek(ids[0])).toBeUndefined()
    expect(h.app.sessions.peek(ids[1])).toBeDefined()
    expect(h.app.sessions.peek(ids[2])).toBeDefined()
    expect((await h.app.sessions.lookup(ids[0]))?.principal.user.username).toBe('alice')
    expect(h.app.sessions.peek(ids[0])).toBeDefined()
  })

  it("sessions of one user share one principal; another user's never", async () => {
    const h = track(await startHarness({ database }))
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
    expect((await signIn(new TestBrowser(), h, 'admin')).status).toBe(200)
    const alice = await h.app.users.requireUser('alice')
    const admin = await h.app.users.requireUser('admin')
    const open = async (user: typeof alice) => {
      const { id } = await h.app.sessions.create({
        user,
        method: 'oidc',
        provider: 'dev',
        maxInactive: 600,
        maxLength: 600,
      })
      return (await h.app.sessions.lookup(id))!.principal
    }
    const [a1, a2, b] = [await open(alice), await open(alice), await open(admin)]
    expect(a1).toBe(a2)
    expect(b).not.toBe(a1)
    expect(b.user.username).toBe('admin')
    expect(a1.user.username).toBe('alice')
  })

  it('concurrent requests for a session that is not cached read it once', async () => {
    const h = track(await startHarness({ database }))
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'alice')).status).toBe(200)
    const cookie = (await browser.cookie(h.url, 'otpki_session'))!
    await h.app.feed.publish({ kind: 'reset' })
    const reads = await sessionReads(h, () =>
      Promise.all(Array.from({ length: 20 }, () => h.app.sessions.lookup(cookie))),
    )
    expect(reads.answers.every((a) => a?.principal.user.username === 'alice')).toBe(true)
    expect(reads.queries).toBe(1)
  })

  it('sessions that miss together are read in one query', async () => {
    const { h, ids } = await aliceWithSessions(track(await startHarness({ database })), 25)
    const reads = await sessionReads(h, () => Promise.all(ids.map((id) => h.app.sessions.lookup(id))))
    expect(reads.answers.every((a) => a?.principal.user.username === 'alice')).toBe(true)
    expect(reads.queries).toBe(1)
  })

  it('idle timers are written together, and only ever forward', async () => {
    const { h, ids } = await aliceWithSessions(
      track(await startHarness({ database, overrides: { sessionCacheSize: 1 } })),
      3,
    )
    const seenAt = async (id: string) =>
      Number((await h.app.orm.em.fork().findOne(SessionSchema, { idHash: hashId(id) }))!.lastSeenAt)
    const created = await seenAt(ids[0]!)
    await new Promise((r) => setTimeout(r, 5))
    // Each lookup pushes the one before out of the one-entry cache; its newer idle timer is kept.
    for (const id of ids) await h.app.sessions.lookup(id)
    await h.app.sessions.flush()
    expect(await seenAt(ids[0]!)).toBeGreaterThan(created)
    expect(await seenAt(ids[2]!)).toBeGreaterThan(created)
    // Another instance saw it later: an older timer from here does not move it back.
    const later = Date.now() + 60_000
    await h.app.orm.em.fork().nativeUpdate(SessionSchema, { idHash: hashId(ids[1]!) }, { lastSeenAt: later })
    await h.app.sessions.lookup(ids[1]!)
    await h.app.sessions.flush()
    expect(await seenAt(ids[1]!)).toBe(later)
  })
})

describe('the session cache and changes during a read', () => {
  const track = closeAfterEach()

  it('a session ended while it was being read is not answered or cached', async () => {
    const h = track(await startHarness())
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'alice')).status).toBe(200)
    const cookie = (await browser.cookie(h.url, 'otpki_session'))!
    const hash = hashId(cookie)
    await h.app.feed.publish({ kind: 'reset' })
    // The read starts; another instance ends the session, and its change arrives before the read answers.
    const knex = h.app.orm.em.getConnection().getKnex()
    const started = new Promise<void>((resolve) => {
      const onQuery = (query: { sql: string }) => {
        if (!query.sql.includes('from sessions s join users u')) return
        knex.off('query', onQuery)
        resolve()
      }
      knex.on('query', onQuery)
    })
    const reading = h.app.sessions.lookup(cookie)
    await started
    const deleting = h.app.orm.em.fork().nativeDelete(SessionSchema, { idHash: hash })
    void h.app.feed.publish({ kind: 'session', hash })
    await deleting
    expect(await reading).toBeUndefined()
    expect(h.app.sessions.peek(cookie)).toBeUndefined()
  })
})
