import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../core/clock.ts'
import { TOKENS } from '../../core/di/tokens.ts'
import type { TransactionStore } from '../../core/sessions/transaction-store.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, signInUntilCallback, startHarness } from '../support/harness.ts'

describe('a sign-in that took too long is told so, apart from a replayed one', () => {
  const track = closeAfterEach()
  const refusals = (lines: Record<string, unknown>[]) =>
    lines.filter((l) => l.route === 'callback' && typeof l.code === 'string').map((l) => [l.code, String(l.reason)])

  it('expired: the page and the log say it expired, even after housekeeping ran', async () => {
    const clock = new ManualClock(Date.now())
    const h = track(await startHarness({ clock }))
    const browser = new TestBrowser()
    const callback = await signInUntilCallback(browser, h, 'alice')
    // Past transactionTtl (10 minutes), and past a purge of what can no longer complete.
    clock.advance(11 * 60_000)
    await h.app.container.resolve<TransactionStore>(TOKENS.TransactionStore).purgeExpired()
    const late = await browser.request(callback.href)
    expect(late.status).toBe(400)
    expect(late.body).toContain('The sign-in took too long. Please sign in again.')
    expect(refusals(h.logs.lines)).toEqual([
      [
        'TRANSACTION_EXPIRED',
        expect.stringMatching(
          /^sign-in transaction expired 60 s ago: it took longer than transactionTtl \(600 s\), not a replay$/,
        ),
      ],
    ])
  })

  it('replayed: the page says the link is not valid any more, and the log says why', async () => {
    const h = track(await startHarness())
    const browser = new TestBrowser()
    const callback = await signInUntilCallback(browser, h, 'alice')
    expect((await browser.follow(callback.href)).status).toBe(200)
    const again = await browser.request(callback.href)
    expect(again.status).toBe(400)
    expect(again.body).toContain('This sign-in link is not valid in this browser any more')
    expect(again.body).not.toContain('took too long')
    expect(refusals(h.logs.lines).map(([code]) => code)).toEqual(['TRANSACTION_MISSING'])
  })
})
