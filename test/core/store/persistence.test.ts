import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startApp, type RunningApp } from '../../../core/app.ts'
import { startDevProvider, type DevProvider } from '../../../plugins/dev-provider/dev-provider.ts'
import { TestBrowser } from '../../support/browser.ts'
import { LogCapture, freePort, signIn } from '../../support/harness.ts'

describe('persistence', () => {
  let dir: string
  let provider: DevProvider
  let port: number
  let url: string
  const start = (): Promise<RunningApp> =>
    startApp({
      configFile: false,
      env: {},
      logDestination: new LogCapture(),
      overrides: {
        port,
        host: '127.0.0.1',
        publicUrl: url,
        database: join(dir, 'data', 'nested', 'otpki.sqlite'),
        providersDir: join(dir, 'providers'),
      },
    })

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'otpki-persist-'))
    port = await freePort()
    url = `http://127.0.0.1:${port}`
    provider = await startDevProvider({
      port: 0,
      clients: [
        { clientId: 'p', clientSecret: 'p-secret', redirectUris: [`${url}/auth/callback`], postLogoutRedirectUris: [] },
      ],
    })
    await mkdir(join(dir, 'providers'))
    await writeFile(
      join(dir, 'providers', 'dev.json'),
      JSON.stringify({
        issuer: provider.issuer,
        clientId: 'p',
        clientSecret: 'p-secret',
        scopes: ['openid', 'profile', 'email', 'roles'],
        createUnknownRoles: true,
      }),
    )
  })
  afterAll(async () => {
    await provider?.close()
    await rm(dir, { recursive: true, force: true })
  })

  it('creates the database file on first start; users and sessions survive a restart', async () => {
    const first = await start()
    const browser = new TestBrowser()
    try {
      expect((await signIn(browser, { url }, 'admin')).status).toBe(200)
    } finally {
      await first.close()
    }
    const second = await start()
    try {
      const me = await browser.request(`${url}/auth/me`)
      expect(me.status).toBe(200)
      expect(JSON.parse(me.body).user).toMatchObject({ username: 'admin', roles: ['admin'] })
      const migrations = await second.orm.em.fork().getConnection().execute('select name from mikro_orm_migrations')
      // Core's migrations first, then those plugins add (the certificates table, with its historical name).
      expect(migrations.map((m) => m.name)).toEqual([
        '001-initial-schema',
        '002-session-identity-and-tokens',
        '003-attributes-and-role-sources',
        '005-hardening',
        '006-changes',
        '007-audit',
        '008-user-search',
        '009-user-disabled',
        '004-certificates',
      ])
    } finally {
      await second.close()
    }
  })
})
