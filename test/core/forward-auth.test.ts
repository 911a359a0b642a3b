import { createServer, type Server } from 'node:http'
import { describe, expect, it } from 'vitest'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'
import { TestBrowser, parseForm } from '../support/browser.ts'
import { CLIENT, closeAfterEach, forwardedCertificates, freePort, signIn, startHarness } from '../support/harness.ts'
import { joseHarness } from '../support/jose-provider.ts'
import { CADDY, startCaddy } from '../support/caddy.ts'
import { NGINX, startNginx } from '../support/nginx.ts'
import { needs } from '../support/needs.ts'

const USERS = {
  admin: {
    password: 'admin',
    claims: { preferred_username: 'admin', email: 'admin@example.test', roles: ['admin'] },
  },
  alice: {
    password: 'alice',
    claims: {
      preferred_username: 'alice',
      given_name: 'Alice',
      family_name: 'Émond',
      email: 'alice@example.test',
      roles: ['staff'],
    },
  },
  bob: { password: 'bob', claims: { preferred_username: 'bob', roles: ['staff'] } },
}

/** A small upstream application: answers with the request headers it received, as JSON. */
async function upstream(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ path: req.url, headers: req.headers }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
}

/** OTPKI with the dev provider, its public URL being the proxy's (whose host serves the sign-in too). */
function behindProxy(publicUrl: string) {
  return startHarness({
    users: USERS,
    providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
    client: () => ({
      redirectUris: [`${publicUrl}/auth/callback`],
      postLogoutRedirectUris: [`${publicUrl}/auth/signed-out`],
    }),
    overrides: { publicUrl },
  })
}

/** Signs in at the dev provider with `returnTo`, and stops at the redirect to it (or at the page it ends on). */
async function signInTo(browser: TestBrowser, url: string, username: string, returnTo: string) {
  const start = await browser.request(`${url}/auth/sign-in?provider=dev&returnTo=${encodeURIComponent(returnTo)}`)
  const login = await browser.follow(new URL(start.headers.get('location')!, start.url).href)
  const form = parseForm(login.body, '/login')
  let res = await browser.request(new URL(form.action, login.url).href, {
    form: { ...form.fields, username, password: username },
  })
  while (res.status >= 300 && res.status < 400 && res.headers.get('location') !== returnTo)
    res = await browser.request(new URL(res.headers.get('location')!, res.url).href)
  return res
}

describe('forward authentication (GET /auth/verify)', () => {
  const track = closeAfterEach()

  it('answers 200 with identity headers, 401, 403 for a missing role, and redirects only to allowed hosts', async () => {
    const ca = await TestCa.create()
    const robot = await ca.client('CN=robot')
    const h = track(
      await startHarness({
        users: USERS,
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ createUnknownRoles: true }) }),
        overrides: {
          clientCertificate: forwardedCertificates(),
          forwardAuth: { allowedHosts: ['app.example.test', '*.apps.example.test'] },
        },
      }),
    )
    const none = await fetch(`${h.url}/auth/verify`)
    expect(none.status).toBe(401)
    expect(none.headers.get('cache-control')).toBe('no-store')

    const alice = new TestBrowser()
    expect((await signIn(alice, h, 'alice')).status).toBe(200)
    const ok = await alice.request(`${h.url}/auth/verify`)
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-auth-request-user')).toBe('alice')
    expect(ok.headers.get('cache-control')).toBe('no-store')
    expect(ok.headers.get('x-auth-request-email')).toBe('alice@example.test')
    expect(ok.headers.get('x-auth-request-groups')).toBe('staff')
    expect(ok.headers.get('x-auth-request-method')).toBe('oidc')
    expect(ok.headers.get('x-auth-request-provider')).toBe('dev')
    // Not printable ASCII: percent-encoded UTF-8.
    expect(decodeURIComponent(ok.headers.get('x-auth-request-name')!)).toBe('Alice Émond')
    expect((await alice.request(`${h.url}/auth/verify?allowed_roles=admin`)).status).toBe(403)
    expect((await alice.request(`${h.url}/auth/verify?allowed_roles=admin,staff`)).status).toBe(200)
    expect((await alice.request(`${h.url}/auth/verify?allowed_roles=admin&allowed_roles=staff`)).status).toBe(200)
    // Any method: a proxy may pass the original one.
    expect((await alice.request(`${h.url}/auth/verify`, { method: 'POST', body: 'x=1' })).status).toBe(200)

    // A client certificate from the trusted ingress.
    const cert = await fetch(`${h.url}/auth/verify`, {
      headers: { 'ssl-client-cert': encodeURIComponent(robot.certPem), 'ssl-client-verify': 'SUCCESS' },
    })
    expect(cert.status).toBe(200)
    expect(cert.headers.get('x-auth-request-user')).toBe('robot')
    expect(cert.headers.get('x-auth-request-method')).toBe('client-certificate')
    // A refused credential is no credential: 401.
    const bad = await fetch(`${h.url}/auth/verify`, { headers: { authorization: 'Bearer not-a-token' } })
    expect(bad.status).toBe(401)

    // Traefik and Caddy pass the answer on: a browser is sent to sign in, to come back to where it was.
    const browser = {
      accept: 'text/html,application/xhtml+xml',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.example.test',
      'x-forwarded-uri': '/reports?year=2026&q=a b',
      'x-forwarded-method': 'GET',
    }
    const redirect = await fetch(`${h.url}/auth/verify`, { headers: browser, redirect: 'manual' })
    expect(redirect.status).toBe(302)
    const location = new URL(redirect.headers.get('location')!)
    expect(location.origin + location.pathname).toBe(`${h.url}/auth/sign-in`)
    expect(location.searchParams.get('returnTo')).toBe('https://app.example.test/reports?year=2026&q=a%20b')
    const sub = await fetch(`${h.url}/auth/verify`, {
      headers: { ...browser, 'x-forwarded-host': 'billing.apps.example.test' },
      redirect: 'manual',
    })
    expect(sub.status).toBe(302)
    for (const host of [
      'evil.example',
      'apps.example.test',
      'app.example.test.evil.example',
      'app.example.test@evil',
    ]) {
      const refused = await fetch(`${h.url}/auth/verify`, {
        headers: { ...browser, 'x-forwarded-host': host },
        redirect: 'manual',
      })
      expect(refused.status, host).toBe(401)
    }
    // A misconfigured proxy sends every request this way: the warning is said once per host.
    await fetch(`${h.url}/auth/verify`, { headers: { ...browser, 'x-forwarded-host': 'evil.example' } })
    const warnings = h.logs.lines.filter((l) => l.host === 'evil.example' && Number(l.level) === 40)
    expect(warnings).toHaveLength(1)
    // A script (no text/html) gets 401, not a page.
    const script = await fetch(`${h.url}/auth/verify`, {
      headers: { ...browser, accept: 'application/json' },
      redirect: 'manual',
    })
    expect(script.status).toBe(401)

    // After sign-in, returnTo may name an allowed host, and no other.
    const visitor = new TestBrowser()
    const back = await signInTo(visitor, h.url, 'alice', 'https://app.example.test/reports?year=2026')
    expect(back.status).toBe(303)
    expect(back.headers.get('location')).toBe('https://app.example.test/reports?year=2026')
    const elsewhere = await signInTo(new TestBrowser(), h.url, 'alice', 'https://evil.example/x')
    expect(elsewhere.status).toBe(200)
    expect(elsewhere.url).toBe(`${h.url}/`)
  })

  it('a bearer token issued to OTPKI passes, with its identity; one for another audience does not', async () => {
    const { jose, h } = await joseHarness(
      track,
      {},
      { behaviour: { claims: { sub: 'robot-1', preferred_username: 'robot' } } },
    )
    const token = await jose.accessToken(CLIENT.clientId, { preferred_username: 'robot' })
    const ok = await fetch(`${h.url}/auth/verify`, { headers: { authorization: `Bearer ${token}` } })
    expect(ok.status).toBe(200)
    expect(ok.headers.get('x-auth-request-user')).toBe('robot')
    expect(ok.headers.get('x-auth-request-method')).toBe('bearer')
    expect(ok.headers.get('x-auth-request-provider')).toBe('jose')
    const foreign = await jose.accessToken('another-client', { preferred_username: 'robot' })
    expect((await fetch(`${h.url}/auth/verify`, { headers: { authorization: `Bearer ${foreign}` } })).status).toBe(401)
  })

  describe('behind a real Caddy (forward_auth)', () => {
    if (!needs('caddy', Boolean(CADDY), 'apt-get install caddy')) return

    it('the recipe of the docs protects an upstream: a browser signs in and comes back, headers a client cannot forge', async () => {
      const port = await freePort()
      const publicUrl = `http://localhost:${port}`
      const app = track(await upstream())
      const h = track(await behindProxy(publicUrl))
      const otpki = new URL(h.url).host
      // The recipe of docs/forward-authentication.md, with OTPKI on the same host for the sign-in.
      track(
        await startCaddy(
          h.dir,
          port,
          `http://localhost:${port} {
  handle /app/* {
    forward_auth ${otpki} {
      uri /auth/verify
      copy_headers X-Auth-Request-User X-Auth-Request-Email X-Auth-Request-Groups
    }
    reverse_proxy ${new URL(app.url).host}
  }
  handle /admin-app/* {
    forward_auth ${otpki} {
      uri /auth/verify?allowed_roles=admin
      copy_headers X-Auth-Request-User
    }
    reverse_proxy ${new URL(app.url).host}
  }
  handle {
    reverse_proxy ${otpki}
  }
}`,
        ),
      )
      // A script without a session: 401, passed on.
      expect((await fetch(`${publicUrl}/app/data`)).status).toBe(401)
      // A browser is redirected to sign in and comes back to the page it asked for.
      const alice = new TestBrowser()
      const first = await alice.request(`${publicUrl}/app/report?year=2026`, {
        headers: { accept: 'text/html', 'x-auth-request-user': 'admin' },
      })
      expect(first.status).toBe(302)
      const returnTo = new URL(first.headers.get('location')!, publicUrl).searchParams.get('returnTo')!
      expect(returnTo).toBe(`${publicUrl}/app/report?year=2026`)
      const landed = await signIn(alice, { url: publicUrl }, 'alice', 'alice', { provider: 'dev', returnTo })
      expect(landed.url).toBe(`${publicUrl}/app/report?year=2026`)
      const seen = JSON.parse(landed.body)
      expect(seen.headers['x-auth-request-user']).toBe('alice')
      expect(seen.headers['x-auth-request-groups']).toBe('staff')
      // The client's own identity header does not reach the application.
      const forged = await alice.request(`${publicUrl}/app/x`, { headers: { 'x-auth-request-user': 'admin' } })
      expect(JSON.parse(forged.body).headers['x-auth-request-user']).toBe('alice')
      // Nor another identity header of the recipe.
      const noEmail = await alice.request(`${publicUrl}/app/y`, {
        headers: { 'x-auth-request-email': 'admin@example.test', 'x-auth-request-groups': 'admin' },
      })
      expect(JSON.parse(noEmail.body).headers).toMatchObject({
        'x-auth-request-email': 'alice@example.test',
        'x-auth-request-groups': 'staff',
      })
      // Bob has no email: the header comes empty, never a client's own value or a placeholder.
      const bob = new TestBrowser()
      expect((await signIn(bob, { url: publicUrl }, 'bob', 'bob', { provider: 'dev' })).status).toBe(200)
      const bobs = await bob.request(`${publicUrl}/app/z`, {
        headers: { 'x-auth-request-email': 'admin@example.test' },
      })
      expect(JSON.parse(bobs.body).headers['x-auth-request-user']).toBe('bob')
      expect(JSON.parse(bobs.body).headers['x-auth-request-email']).toBe('')
      // A role per location.
      expect((await alice.request(`${publicUrl}/admin-app/`)).status).toBe(403)
    })
  })

  describe('behind a real nginx (auth_request)', () => {
    if (!needs('nginx', Boolean(NGINX), 'apt-get install nginx')) return

    it('protects an upstream application: sign-in and back, identity headers that a client cannot forge, a role per location', async () => {
      const port = await freePort()
      const publicUrl = `http://localhost:${port}`
      const app = track(await upstream())
      const h = track(await behindProxy(publicUrl))
      const otpki = h.url
      // The recipe of the README, as it is there.
      const protect = (verify: string) => `
            auth_request ${verify};
            auth_request_set $otpki_user $upstream_http_x_auth_request_user;
            auth_request_set $otpki_email $upstream_http_x_auth_request_email;
            auth_request_set $otpki_roles $upstream_http_x_auth_request_groups;
            proxy_set_header X-Auth-Request-User $otpki_user;
            proxy_set_header X-Auth-Request-Email $otpki_email;
            proxy_set_header X-Auth-Request-Groups $otpki_roles;
            error_page 401 = /_otpki_sign_in;
            proxy_pass ${app.url};`
      const verifyLocation = (name: string, query: string) => `
          location = ${name} {
            internal;
            proxy_pass ${otpki}/auth/verify${query};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $http_host;
          }`
      const nginx = track(
        await startNginx(
          h.dir,
          port,
          `server {
          listen 127.0.0.1:${port};
          server_name localhost;
          location / {
            proxy_pass ${otpki};
            proxy_set_header Host $http_host;
          }
          location /app/ {${protect('/_otpki_verify')}
          }
          location /admin-app/ {${protect('/_otpki_verify_admin')}
          }
          ${verifyLocation('/_otpki_verify', '')}
          ${verifyLocation('/_otpki_verify_admin', '?allowed_roles=admin')}
          location = /_otpki_sign_in {
            internal;
            proxy_pass ${otpki}/auth/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-Uri $request_uri;
            proxy_set_header X-Forwarded-Method $request_method;
          }
        }`,
        ),
      )
      expect(nginx).toBeDefined()

      // A script without a session: 401, and the application never sees the request.
      const script = await fetch(`${publicUrl}/app/data`, { headers: { 'x-auth-request-user': 'admin' } })
      expect(script.status).toBe(401)

      // A browser is sent to sign in, and comes back to the page it asked for, query and all.
      const alice = new TestBrowser()
      const first = await alice.request(`${publicUrl}/app/report?year=2026&q=a%20b`, {
        headers: { accept: 'text/html', 'x-auth-request-user': 'admin' },
      })
      expect(first.status).toBe(302)
      const signInUrl = new URL(first.headers.get('location')!)
      expect(signInUrl.searchParams.get('returnTo')).toBe(`${publicUrl}/app/report?year=2026&q=a%20b`)
      const landed = await signIn(alice, { url: publicUrl }, 'alice', 'alice', {
        provider: 'dev',
        returnTo: signInUrl.searchParams.get('returnTo')!,
      })
      expect(landed.status).toBe(200)
      expect(landed.url).toBe(`${publicUrl}/app/report?year=2026&q=a%20b`)
      const seen = JSON.parse(landed.body)
      expect(seen.path).toBe('/app/report?year=2026&q=a%20b')
      expect(seen.headers['x-auth-request-user']).toBe('alice')
      expect(seen.headers['x-auth-request-email']).toBe('alice@example.test')
      expect(seen.headers['x-auth-request-groups']).toBe('staff')

      // A header the client sends itself never reaches the application as the identity.
      const forged = await alice.request(`${publicUrl}/app/x`, { headers: { 'x-auth-request-user': 'admin' } })
      expect(JSON.parse(forged.body).headers['x-auth-request-user']).toBe('alice')

      // A user without an email: nginx sends no X-Auth-Request-Email, never the client's own.
      const bob = new TestBrowser()
      expect((await signIn(bob, { url: publicUrl }, 'bob', 'bob', { provider: 'dev' })).status).toBe(200)
      const bobs = await bob.request(`${publicUrl}/app/z`, {
        headers: { 'x-auth-request-email': 'admin@example.test' },
      })
      expect(JSON.parse(bobs.body).headers['x-auth-request-user']).toBe('bob')
      expect(JSON.parse(bobs.body).headers['x-auth-request-email']).toBeUndefined()

      // The admin location requires the admin role.
      expect((await alice.request(`${publicUrl}/admin-app/`)).status).toBe(403)
      const admin = new TestBrowser()
      expect((await signIn(admin, { url: publicUrl }, 'admin')).status).toBe(200)
      const adminApp = await admin.request(`${publicUrl}/admin-app/`)
      expect(adminApp.status).toBe(200)
      expect(JSON.parse(adminApp.body).headers['x-auth-request-user']).toBe('admin')

      // Signed out: the session no longer opens the application.
      const home = await alice.request(`${publicUrl}/`)
      const csrf = /name="csrf" value="([^"]+)"/.exec(home.body)![1]!
      await alice.request(`${publicUrl}/auth/sign-out`, { form: { csrf } })
      expect((await alice.request(`${publicUrl}/app/x`)).status).toBe(401)
    })
  })
})
