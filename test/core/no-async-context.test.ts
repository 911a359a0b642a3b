import { AsyncLocalStorage } from 'node:async_hooks'
import { afterEach, describe, expect, it } from 'vitest'
import { CertificateStore } from '../../plugins/client-certificate/certificate-store.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'
import { TestBrowser } from '../support/browser.ts'
import { closeAfterEach, forwardedCertificates, me, signIn, startHarness } from '../support/harness.ts'

/**
 * On Node 20 the first `AsyncLocalStorage` context turns on async hooks for the
 * whole process, and every request pays for them from then on. The database layer
 * enters one for each unit-of-work flush and `em.transactional`: sign-in, sign-out,
 * user sync and credential changes must write without them.
 */
describe('the database layer enters no AsyncLocalStorage context at run time', () => {
  const track = closeAfterEach()
  const entered: string[] = []
  const original = { run: AsyncLocalStorage.prototype.run, enterWith: AsyncLocalStorage.prototype.enterWith }
  const record = (stack: string | undefined) => {
    if (stack?.includes('@mikro-orm')) entered.push(stack)
  }
  afterEach(() => {
    AsyncLocalStorage.prototype.run = original.run
    AsyncLocalStorage.prototype.enterWith = original.enterWith
  })

  it('through sign-in, a repeat sign-in with changed claims, a certificate user, and sign-out', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
        overrides: { clientCertificate: forwardedCertificates() },
      }),
    )
    AsyncLocalStorage.prototype.run = function (this: AsyncLocalStorage<unknown>, ...args: any[]) {
      record(new Error().stack)
      return (original.run as any).apply(this, args)
    } as typeof original.run
    AsyncLocalStorage.prototype.enterWith = function (this: AsyncLocalStorage<unknown>, store: unknown) {
      record(new Error().stack)
      return original.enterWith.call(this, store)
    }

    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'alice')).status).toBe(200)
    const alice = h.provider.users.alice!
    alice.claims = { ...alice.claims, given_name: 'Alicia', roles: ['auditor'] }
    expect((await signIn(new TestBrowser(), h, 'alice')).status).toBe(200)
    expect((await me(browser, h)).body).toMatchObject({ user: { firstName: 'Alicia', roles: ['auditor'] } })

    const ca = await TestCa.create()
    const robot = await ca.client('CN=robot')
    await new CertificateStore(h.app.services).createUserWith('robot', robot.certPem)
    const other = await ca.client('CN=robot-2')
    await new CertificateStore(h.app.services).attach('robot', other.certPem)

    const user = await h.app.users.requireUser('alice')
    const { id } = await h.app.sessions.create({
      user,
      method: 'oidc',
      provider: 'dev',
      maxInactive: 60,
      maxLength: 60,
    })
    await h.app.sessions.revoke(id)
    expect(entered).toEqual([])
  })
})
