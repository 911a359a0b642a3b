import { describe, expect, it } from 'vitest'
import { InFlight } from '../../../core/http/in-flight.ts'

describe('InFlight: a shutdown waits for the requests being answered', () => {
  it('idle resolves once every tracked request settled, fulfilled or rejected', async () => {
    const inFlight = new InFlight()
    let finishA!: () => void
    let failB!: (e: Error) => void
    const a = inFlight.track(new Promise<void>((r) => (finishA = r)))
    const b = inFlight.track(new Promise<void>((_, j) => (failB = j))).catch(() => 'failed')
    let idle = false
    const waiting = inFlight.idle(60_000).then(() => (idle = true))
    finishA()
    await a
    expect(idle).toBe(false)
    failB(new Error('the database went away'))
    expect(await b).toBe('failed')
    await waiting
    expect(idle).toBe(true)
  })

  it('does not wait past its limit, and not at all when nothing is in flight', async () => {
    const inFlight = new InFlight()
    await inFlight.idle(60_000)
    void inFlight.track(new Promise(() => undefined))
    // A request that never settles: idle still resolves (the test would time out otherwise).
    await expect(inFlight.idle(20)).resolves.toBeUndefined()
  })
})
