import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { providerKeys } from '../support/provider-defaults.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, signIn, startHarness } from '../support/harness.ts'

/** A small seeded PRNG (mulberry32): the same mutations on every run, another seed for another run. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SEED = Number(process.env.OTPKI_FUZZ_SEED ?? 20261124)
const ROUNDS = Number(process.env.OTPKI_FUZZ_ROUNDS ?? 60)

describe('configuration robustness: mutated provider files fed to the running server', () => {
  const track = closeAfterEach()

  it(`keeps serving with the last good configuration and reports each error with file and key (seed ${SEED})`, async () => {
    const h = track(await startHarness())
    const file = join(h.providersDir, 'dev.json')
    const good = JSON.parse(h.providerJson()) as Record<string, unknown>
    const random = prng(SEED)
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!
    const keys = providerKeys
    const junk = (): unknown =>
      pick<() => unknown>([
        () => Math.floor(random() * 1e9) - 5e8,
        () => random() < 0.5,
        () => null,
        () => [],
        () => ({ nested: { deeper: [1, 'two'] } }),
        () => 'x'.repeat(200_000),
        () => '',
        () => 'not a url',
        () => [42, null],
      ])()
    const mutations: [string, () => string][] = [
      ['a wrong value', () => JSON.stringify({ ...good, [pick(keys)]: junk() })],
      ['a missing required key', () => JSON.stringify({ ...good, [pick(['issuer', 'clientId'])]: undefined })],
      ['an unknown key', () => JSON.stringify({ ...good, [`unknown_${Math.floor(random() * 1000)}`]: junk() })],
      [
        'a broken file',
        () => {
          const text = JSON.stringify(good)
          return text.slice(0, Math.floor(random() * (text.length - 1)))
        },
      ],
      ['not an object', () => pick(['[]', 'null', '42', '"text"', ''])],
      [
        'nested garbage',
        () =>
          JSON.stringify({
            ...good,
            [pick(['endpoints', 'claims', 'mappers', 'postLoginFlow'])]: pick<unknown>([
              'x',
              { roles: 5 },
              [{ type: 5 }],
              { authorization: 'ftp://x' },
            ]),
          }),
      ],
    ]

    let lastGoodName = 'Test SSO'
    for (let round = 0; round < ROUNDS; round++) {
      const [kind, mutate] = pick(mutations)
      const content = mutate()
      const report = await h.writeProvider('dev.json', content)
      const where = `round ${round}: ${kind}: ${content.slice(0, 120)}`
      if (report.issues.length > 0) {
        for (const issue of report.issues) {
          expect(issue.file, where).toBe(file)
          expect(issue.key, where).toMatch(/^\(file\)$|^\(root\)$|^[\w.[\]]+$/)
          expect(issue.reason.length, where).toBeGreaterThan(0)
          expect(issue.reason.length, where).toBeLessThan(1000)
        }
      } else {
        // The mutation happened to be valid: it is the new definition.
        lastGoodName = h.app.registry.get('dev')!.definition.displayName
      }
      expect((await fetch(`${h.url}/healthz`)).status, where).toBe(200)
      const page = await new TestBrowser().request(`${h.url}/auth/sign-in`)
      expect(page.status, where).toBe(200)
      expect(h.app.registry.get('dev'), where).toBeDefined()
      expect(page.body, where).toContain(lastGoodName.slice(0, 50))
    }
    // After all that, the provider still signs people in.
    await h.writeProvider('dev.json', h.providerJson())
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
  }, 120_000)
})
