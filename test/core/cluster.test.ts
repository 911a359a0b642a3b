import { type ChildProcess, spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../core/paths.ts'
import { startDevProvider, type DevProvider } from '../../plugins/dev-provider/dev-provider.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'
import { parseForm, TestBrowser } from '../support/browser.ts'
import { ensureBuilt } from '../support/build.ts'
import { CLIENT, forwardedCertificates, freePort, POSTGRES_SECRETS, signIn } from '../support/harness.ts'
import { NGINX, startNginx } from '../support/nginx.ts'
import { needs } from '../support/needs.ts'
import { freshPostgres, needsPostgres } from '../support/postgres.ts'

const cli = join(packageRoot(), 'dist/core/cli.js')

interface Instance {
  url: string
  port: number
  child: ChildProcess
  output: () => string
}

/** Starts `otpki start` as its own process and waits for its /healthz. */
async function startInstance(config: string, port: number): Promise<Instance> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTPKI_'))),
    OTPKI_PORT: String(port),
    OTPKI_HOST: '127.0.0.1',
    OTPKI_LOG_LEVEL: 'info',
  }
  const child = spawn(process.execPath, [cli, 'start', '-c', config], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()))
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()))
  const url = `http://127.0.0.1:${port}`
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`instance on ${port} exited (${code}): ${output}`))),
  )
  exited.catch(() => undefined)
  const ready = (async () => {
    for (;;) {
      const ok = await fetch(`${url}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
      if (ok) return
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  await Promise.race([ready, exited])
  return { url, port, child, output: () => output }
}

/** Asks until `done` holds, for at most `limitMs`; answers how long it took (or fails). */
async function within(limitMs: number, done: () => Promise<boolean>): Promise<number> {
  const started = performance.now()
  for (;;) {
    if (await done()) return performance.now() - started
    if (performance.now() - started > limitMs) expect.fail(`not within ${limitMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('three instances on one PostgreSQL behind nginx (round robin)', () => {
  if (!needsPostgres() || !needs('nginx', NGINX !== undefined, 'apt-get install nginx')) return
  let dir: string
  let provider: DevProvider
  let nginx: Awaited<ReturnType<typeof startNginx>>
  let db: Awaited<ReturnType<typeof freshPostgres>>
  let instances: Instance[] = []
  let url: string

  beforeAll(async () => {
    ensureBuilt()
    dir = await mkdtemp(join(tmpdir(), 'otpki-cluster-'))
    db = await freshPostgres()
    const nginxPort = await freePort()
    url = `http://127.0.0.1:${nginxPort}`
    provider = await startDevProvider({
      port: 0,
      clients: [
        {
          ...CLIENT,
          redirectUris: [`${url}/auth/callback`],
          postLogoutRedirectUris: [`${url}/auth/signed-out`],
          backchannelLogoutUri: `${url}/auth/backchannel-logout`,
        },
      ],
    })
    await mkdir(join(dir, 'providers'))
    await writeFile(
      join(dir, 'providers', 'dev.json'),
      JSON.stringify({
        issuer: provider.issuer,
        clientId: CLIENT.clientId,
        clientSecret: CLIENT.clientSecret,
        scopes: ['openid', 'profile', 'email', 'roles'],
        createUnknownRoles: true,
        backchannelLogout: true,
      }),
    )
    const config = join(dir, 'otpki.config.json')
    await writeFile(
      config,
      JSON.stringify({
        publicUrl: url,
        database: db.url,
        ...POSTGRES_SECRETS,
        providersDir: 'providers',
        // nginx forwards for the browser; tests send certificates straight to each instance from loopback.
        rateLimit: { trustedProxies: ['127.0.0.1'] },
        clientCertificate: forwardedCertificates(),
      }),
    )
    const ports = await Promise.all([1, 2, 3].map(() => freePort()))
    // Started together: they migrate once, under the lock.
    instances = await Promise.all(ports.map((port) => startInstance(config, port)))
    nginx = await startNginx(
      join(dir, 'nginx'),
      nginxPort,
      `
      upstream otpki { ${ports.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=30s;`).join(' ')} }
      server {
        listen 127.0.0.1:${nginxPort};
        location / {
          proxy_pass http://otpki;
          proxy_next_upstream error timeout http_502;
          proxy_connect_timeout 2s;
          proxy_set_header Host $http_host;
          proxy_set_header X-Forwarded-For $remote_addr;
        }
      }`,
    )
  }, 120_000)

  afterAll(async () => {
    await nginx?.close()
    const running = instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null)
    await Promise.all(
      running.map((i) => {
        const exited = new Promise((r) => i.child.once('exit', r))
        i.child.kill('SIGTERM')
        return exited
      }),
    )
    await provider?.close()
    await db?.drop()
    await rm(dir, { recursive: true, force: true })
  })

  const meAt = (browser: TestBrowser, base: string) => browser.request(`${base}/auth/me`).then((r) => r.status)

  it('a sign-in through nginx (started on one instance, finished on another) is a session on all', async () => {
    const browser = new TestBrowser()
    const home = await signIn(browser, { url }, 'alice')
    expect(home.status).toBe(200)
    for (const i of instances) expect(await meAt(browser, i.url)).toBe(200)
    for (let n = 0; n < 6; n++) expect(await meAt(browser, url)).toBe(200)
  })

  it('a sign-out through one instance is refused by the others within a second', async () => {
    const browser = new TestBrowser()
    const home = await signIn(browser, { url }, 'alice')
    const [a, b, c] = instances as [Instance, Instance, Instance]
    expect(await meAt(browser, b.url)).toBe(200)
    expect(await meAt(browser, c.url)).toBe(200)
    // What a stolen or still-open copy of the cookie would send after the sign-out.
    const cookie = await browser.jar.getCookieString(url)
    const withOldCookie = (i: Instance) => fetch(`${i.url}/auth/me`, { headers: { cookie } }).then((r) => r.status)
    const form = parseForm(home.body, '/auth/sign-out')
    const out = await browser.request(`${a.url}/auth/sign-out`, { form: form.fields })
    expect(out.status).toBe(303)
    const ms = await within(1000, async () => (await withOldCookie(b)) === 401 && (await withOldCookie(c)) === 401)
    console.log(`[cluster] sign-out on one instance refused by the others after ${ms.toFixed(0)} ms`)
  })

  it('a certificate detached through one instance is refused by the others within a second', async () => {
    const admin = new TestBrowser()
    await signIn(admin, { url }, 'admin')
    const ca = await TestCa.create()
    const cert = await ca.client('CN=deploy-bot')
    const headers = { 'ssl-client-cert': encodeURIComponent(cert.certPem), 'ssl-client-verify': 'SUCCESS' }
    const [a, b, c] = instances as [Instance, Instance, Instance]
    // A user of its own from the CN (createUnknownUsers), signed in and cached on every instance.
    for (const i of instances) expect((await fetch(`${i.url}/auth/me`, { headers })).status).toBe(200)
    const detached = await admin.request(`${a.url}/admin/users/deploy-bot/certificates/${cert.fingerprint}`, {
      method: 'DELETE',
    })
    expect(detached.status).toBe(200)
    const ms = await within(1000, async () => {
      const statuses = await Promise.all(
        [b, c].map((i) => fetch(`${i.url}/auth/me`, { headers }).then((r) => r.status)),
      )
      // Detached, the CN would make a new user; that user is taken, so the certificate is refused.
      return statuses.every((s) => s === 401)
    })
    console.log(`[cluster] certificate detached on one instance refused by the others after ${ms.toFixed(0)} ms`)
  })

  it('a back-channel logout received by one instance ends the session on all', async () => {
    const browser = new TestBrowser()
    await signIn(browser, { url }, 'alice')
    for (const i of instances) expect(await meAt(browser, i.url)).toBe(200)
    // The user signs out at the provider; it posts the logout token to nginx, so to one instance.
    const confirm = await browser.follow(`${provider.issuer}/session/end`)
    const form = parseForm(confirm.body)
    await browser.follow(new URL(form.action, confirm.url).href, { form: { ...form.fields, logout: 'yes' } })
    const ms = await within(1000, async () =>
      (await Promise.all(instances.map((i) => meAt(browser, i.url)))).every((s) => s === 401),
    )
    console.log(`[cluster] back-channel logout ended the session on every instance after ${ms.toFixed(0)} ms`)
  })

  it('an instance killed with SIGKILL under load: nginx fails over and no session is lost', async () => {
    const browser = new TestBrowser()
    await signIn(browser, { url }, 'alice')
    const cookie = await browser.jar.getCookieString(url)
    const statuses: number[] = []
    let sent = 0
    const victim = instances[2]!
    const worker = async () => {
      while (sent < 600) {
        sent++
        if (sent === 200) victim.child.kill('SIGKILL')
        statuses.push(await fetch(`${url}/auth/me`, { headers: { cookie } }).then((r) => r.status))
      }
    }
    await Promise.all(Array.from({ length: 8 }, worker))
    expect(victim.child.signalCode ?? (await new Promise((r) => victim.child.once('exit', (_c, s) => r(s))))).toBe(
      'SIGKILL',
    )
    expect(statuses.length).toBeGreaterThanOrEqual(600)
    expect(statuses.filter((s) => s !== 200)).toEqual([])
    for (const i of instances.slice(0, 2)) expect(await meAt(browser, i.url)).toBe(200)
  })
})
