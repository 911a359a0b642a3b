import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type RunningApp } from '../../../core/app.ts'
import { CertificateStore } from '../../../plugins/client-certificate/certificate-store.ts'
import { startDevProvider, type DevProvider } from '../../../plugins/dev-provider/dev-provider.ts'
import { TestCa } from '../../../plugins/dev-provider/throwaway-ca.ts'
import { TestBrowser } from '../../support/browser.ts'
import { ensureBuilt } from '../../support/build.ts'
import { otpki } from '../../support/cli.ts'
import { forwardedCertificates, freePort, LogCapture, POSTGRES_SECRETS, signIn } from '../../support/harness.ts'
import { freshPostgres, needsPostgres } from '../../support/postgres.ts'

describe('otpki db copy: from the embedded SQLite to PostgreSQL', () => {
  if (!needsPostgres()) return
  let dir: string
  let provider: DevProvider
  let port: number
  let url: string
  let db: Awaited<ReturnType<typeof freshPostgres>>
  const sqlite = () => join(dir, 'data', 'otpki.sqlite')
  const start = (database: string): Promise<RunningApp> =>
    startApp({
      configFile: false,
      env: {},
      logDestination: new LogCapture(),
      overrides: {
        port,
        host: '127.0.0.1',
        publicUrl: url,
        database,
        ...POSTGRES_SECRETS,
        providersDir: join(dir, 'providers'),
        clientCertificate: forwardedCertificates(),
      },
    })

  beforeAll(async () => {
    ensureBuilt()
    dir = await mkdtemp(join(tmpdir(), 'otpki-copy-'))
    db = await freshPostgres()
    port = await freePort()
    url = `http://127.0.0.1:${port}`
    provider = await startDevProvider({
      port: 0,
      clients: [
        { clientId: 'c', clientSecret: 'c-secret', redirectUris: [`${url}/auth/callback`], postLogoutRedirectUris: [] },
      ],
    })
    await mkdir(join(dir, 'providers'))
    await writeFile(
      join(dir, 'providers', 'dev.json'),
      JSON.stringify({
        issuer: provider.issuer,
        clientId: 'c',
        clientSecret: 'c-secret',
        scopes: ['openid', 'profile', 'email', 'roles'],
        createUnknownRoles: true,
      }),
    )
    await writeFile(join(dir, 'otpki.config.json'), JSON.stringify({ clientCertificate: forwardedCertificates() }))
  }, 60_000)
  afterAll(async () => {
    await provider?.close()
    await db?.drop()
    await rm(dir, { recursive: true, force: true })
  })

  it('moves users, roles, identities, sessions and certificates; sign-ins go on where they left off', async () => {
    const ca = await TestCa.create()
    const cert = await ca.client('CN=deploy-bot')
    const certHeaders = { 'ssl-client-cert': encodeURIComponent(cert.certPem), 'ssl-client-verify': 'SUCCESS' }
    const browser = new TestBrowser()
    const before = await start(sqlite())
    try {
      expect((await signIn(browser, { url }, 'admin')).status).toBe(200)
      await new CertificateStore(before.services).createUserWith('deploy-bot', cert.certPem)
    } finally {
      await before.close()
    }

    const copied = await otpki(['db', 'copy', '--from', sqlite(), '--to', db.url, '-c', join(dir, 'otpki.config.json')])
    expect(copied.stderr).toBe('')
    expect(copied.code).toBe(0)
    expect(copied.stdout).toMatch(/^users: 2$/m)
    expect(copied.stdout).toMatch(/^sessions: 1$/m)
    expect(copied.stdout).toMatch(/^certificates: 1$/m)
    // Never over data: a second copy is refused.
    const again = await otpki(['db', 'copy', '--from', sqlite(), '--to', db.url, '-c', join(dir, 'otpki.config.json')])
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('already holds users') })

    const after = await start(db.url)
    try {
      const me = await browser.request(`${url}/auth/me`)
      expect(me.status).toBe(200)
      expect(JSON.parse(me.body)).toMatchObject({ user: { username: 'admin', roles: ['admin'] }, method: 'oidc' })
      const bot = await fetch(`${url}/auth/me`, { headers: certHeaders })
      expect(await bot.json()).toMatchObject({ user: { username: 'deploy-bot' }, method: 'client-certificate' })
      // New rows get fresh ids after the copied ones.
      expect((await signIn(new TestBrowser(), { url }, 'alice')).status).toBe(200)
      expect((await after.users.list()).map((u) => u.username)).toEqual(['admin', 'alice', 'deploy-bot'])
    } finally {
      await after.close()
    }
  })
})
