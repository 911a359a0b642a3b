import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { otpki } from '../support/cli.ts'
import { describe, expect, it } from 'vitest'
import { CertificateStore } from '../../plugins/client-certificate/certificate-store.ts'
import { TestCa, type Issued } from '../../plugins/dev-provider/throwaway-ca.ts'
import { ensureBuilt } from '../support/build.ts'
import {
  POSTGRES_SECRETS,
  closeAfterEach,
  forwardedCertificates,
  startHarness,
  type Harness,
} from '../support/harness.ts'
import { testDatabases } from '../support/postgres.ts'

const nginx = (i: Issued) => ({ 'ssl-client-cert': encodeURIComponent(i.certPem), 'ssl-client-verify': 'SUCCESS' })

/** Asks until `done` holds, for at most `limitMs`; answers how long it took (or fails). */
async function within(limitMs: number, done: () => Promise<boolean>): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await done()) return performance.now() - started
    if (performance.now() - started > limitMs) expect.fail(`not within ${limitMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe.each(testDatabases())(
  'a change made by the CLI reaches the running server within a second (%s)',
  (database) => {
    const track = closeAfterEach()

    it('a certificate detached with otpki users detach-cert stops signing in', async () => {
      ensureBuilt()
      const h: Harness = track(
        await startHarness({ database, overrides: { clientCertificate: forwardedCertificates() } }),
      )
      const ca = await TestCa.create()
      const cert = await ca.client('CN=deploy-bot')
      await new CertificateStore(h.app.services).createUserWith('deploy-bot', cert.certPem)
      const me = () => fetch(`${h.url}/auth/me`, { headers: nginx(cert) })
      // Signed in, and now in the server's cache.
      expect((await me()).status).toBe(200)
      expect((await me()).status).toBe(200)

      const config = join(h.dir, 'cli.config.json')
      await writeFile(
        config,
        JSON.stringify({
          database:
            database === 'postgres'
              ? h.app.config.database
              : h.app.config.db.kind === 'sqlite'
                ? h.app.config.db.file
                : '',
          ...(database === 'postgres' ? POSTGRES_SECRETS : {}),
          providersDir: h.providersDir,
          clientCertificate: forwardedCertificates(),
        }),
      )
      const detached = await otpki(['users', 'detach-cert', 'deploy-bot', cert.fingerprint, '-c', config])
      expect(detached).toMatchObject({ code: 0, stdout: expect.stringContaining('detached') })
      const ms = await within(1000, async () => (await me()).status === 401)
      console.log(`[propagation] ${database}: CLI detach refused by the server after ${ms.toFixed(0)} ms`)
      expect(h.app.feed.received.some((r) => r.change.kind === 'user')).toBe(true)
    })
  },
)

describe('the PostgreSQL change listener', () => {
  const track = closeAfterEach()
  if (!testDatabases().includes('postgres')) return

  it('reconnects when its connection is lost, and drops every cache, since a change may have been missed', async () => {
    const h: Harness = track(
      await startHarness({ database: 'postgres', overrides: { clientCertificate: forwardedCertificates() } }),
    )
    const ca = await TestCa.create()
    const cert = await ca.client('CN=deploy-bot')
    await new CertificateStore(h.app.services).createUserWith('deploy-bot', cert.certPem)
    const me = () => fetch(`${h.url}/auth/me`, { headers: nginx(cert) })
    expect((await me()).status).toBe(200)
    const sql = (query: string) => h.app.orm.em.fork().getConnection().execute(query)
    const back = h.logs.waitFor((l) => l.msg === 'change notifications are back')
    await sql(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query ilike 'listen%'",
    )
    // A change nobody announces, made while the listener is away (another tool, or a notification lost).
    await sql('delete from certificates')
    await back
    expect(h.logs.messages()).toContain('lost the change notifications; every cache is dropped until they are back')
    expect((await me()).status).toBe(401)
    // And changes are heard again.
    const cert2 = await ca.client('CN=deploy-bot-2')
    await new CertificateStore(h.app.services).createUserWith('deploy-bot-2', cert2.certPem)
    expect((await fetch(`${h.url}/auth/me`, { headers: nginx(cert2) })).status).toBe(200)
  })
})
