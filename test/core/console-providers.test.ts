import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AuditLog } from '../../core/audit/audit-log.ts'
import { TOKENS } from '../../core/di/tokens.ts'
import { startDevProvider } from '../../plugins/dev-provider/dev-provider.ts'
import { TestBrowser } from '../support/browser.ts'
import { CLIENT, closeAfterEach, signIn, startHarness, type Harness } from '../support/harness.ts'

const USERS = {
  admin: { password: 'admin', claims: { preferred_username: 'admin', roles: ['admin'] } },
  reader: { password: 'reader', claims: { preferred_username: 'reader', roles: ['viewer'] } },
}
const HTML = { accept: 'text/html' }

/** The console's token: the one in the page's own form (the sign-out form in the header has another). */
/** A console form post, as a browser sends it. */
const post = (b: TestBrowser, h: Harness, path: string, form: Record<string, string>) =>
  b.request(`${h.url}${path}`, { headers: HTML, form })
const csrfOf = (body: string) =>
  /<form method="post" action="\/admin[^"]*"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"/.exec(body)![1]!

describe('the console creates, edits and deletes provider files', () => {
  const track = closeAfterEach()

  const start = (writable: boolean) =>
    startHarness({
      users: USERS,
      providers: ({ providerJson }) => ({
        'dev.json': providerJson({ createUnknownRoles: true, roleSyncScope: 'provider' }),
      }),
      overrides: { providerFilesWritable: writable, permissions: { readProviders: ['viewer'] } },
    })
  const admin = async (h: Harness) => {
    const b = new TestBrowser()
    expect((await signIn(b, h, 'admin')).status).toBe(200)
    const form = await b.request(`${h.url}/admin/providers/new`, { headers: HTML })
    expect(form.status).toBe(200)
    return { b, csrf: csrfOf(form.body), form }
  }
  /** The form for a second provider, as a browser posts it (the checkboxes as the new form shows them). */
  const second = (issuer: string, extra: Record<string, string> = {}) => ({
    name: 'second',
    displayName: 'Second SSO',
    issuer,
    clientId: CLIENT.clientId,
    'clientSecret.mode': 'env',
    'clientSecret.value': 'SECOND_CLIENT_SECRET',
    scopes: 'openid profile email roles',
    enabled: 'on',
    createUnknownUsers: 'on',
    other: '',
    ...extra,
  })

  it('checks a form with the provider schema, shows the file and offers it for download; it writes nothing when writes are off', async () => {
    const h = track(await start(false))
    const partner = 'https://partner.example/realms/staff'
    const { b, csrf, form } = await admin(h)
    // Every documented field has a control, and there is no secret on the page.
    for (const key of ['name', 'displayName', 'issuer', 'clientId', 'scopes', 'redirectUrl', 'createUnknownUsers'])
      expect(form.body).toContain(`name="${key}"`)
    expect(form.body).toContain('providerFilesWritable: true')
    expect(form.body).not.toContain('value="save"')

    const bad = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: { csrf, action: 'check', ...second(partner, { issuer: 'not a url', other: '{"claims": 3}' }) },
    })
    expect(bad.status).toBe(422)
    expect(bad.body).toContain('data-error-for="issuer"')
    expect(bad.body).toContain('data-error-for="other"')
    // What was typed stays in the form.
    expect(bad.body).toContain('value="Second SSO"')

    // The form's live check asks for JSON: the same issues, by key.
    const live = await b.request(`${h.url}/admin/providers/new`, {
      headers: { accept: 'application/json' },
      form: { csrf, action: 'check', ...second(partner, { issuer: 'not a url' }) },
    })
    expect(live.status).toBe(200)
    expect(JSON.parse(live.body)).toMatchObject({
      ok: false,
      issues: [{ key: 'issuer', reason: 'must be an absolute URL' }],
    })

    const notJson = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: { csrf, action: 'check', ...second(partner, { other: '{nope' }) },
    })
    expect(notJson.status).toBe(422)
    expect(notJson.body).toMatch(/data-error-for="other">is not JSON/)

    const taken = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: { csrf, action: 'check', ...second(partner, { name: 'dev' }) },
    })
    expect(taken.status).toBe(422)
    expect(taken.body).toContain('a provider named dev exists')
    const sameIssuer = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: { csrf, action: 'check', ...second(h.provider.issuer) },
    })
    expect(sameIssuer.status).toBe(422)
    expect(sameIssuer.body).toContain('two providers with the same issuer')

    const ok = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: {
        csrf,
        action: 'check',
        ...second(partner, { createUnknownRoles: 'on', other: '{"syncMode": "import"}' }),
      },
    })
    expect(ok.status).toBe(200)
    const shown = /<pre class="config" data-field="file"><code>([^<]*)<\/code>/.exec(ok.body)![1]!
    const file = JSON.parse(shown.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&'))
    expect(file).toEqual({
      name: 'second',
      displayName: 'Second SSO',
      issuer: partner,
      clientId: CLIENT.clientId,
      clientSecret: { env: 'SECOND_CLIENT_SECRET' },
      scopes: ['openid', 'profile', 'email', 'roles'],
      createUnknownRoles: true,
      syncMode: 'import',
    })
    // The variable is not set on this server: a warning, not an error (the file is for the deployment).
    expect(ok.body).toContain('environment variable SECOND_CLIENT_SECRET is not set on this server')

    const download = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: { csrf, action: 'download', ...second(partner) },
    })
    expect(download.status).toBe(200)
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="second.json"')
    expect(JSON.parse(download.body).clientSecret).toEqual({ env: 'SECOND_CLIENT_SECRET' })

    const save = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: { csrf, action: 'save', ...second(partner) },
    })
    expect(save.status).toBe(403)
    expect(await readdir(h.providersDir)).toEqual(['dev.json'])
    const del = await b.request(`${h.url}/admin/providers/dev/delete`, { headers: HTML, form: { csrf } })
    expect(del.status).toBe(403)
    expect(await readdir(h.providersDir)).toEqual(['dev.json'])
  })

  it('saves a new provider that loads at once, edits it keeping its secret, and deletes it, each audited', async () => {
    const h = track(await start(true))
    const other = track(
      await startDevProvider({
        port: 0,
        clients: [{ ...CLIENT, redirectUris: [`${h.url}/auth/callback`], postLogoutRedirectUris: [] }],
        users: { carol: { password: 'carol', claims: { preferred_username: 'carol' } } },
      }),
    )
    const partner = other.issuer
    const { b, csrf } = await admin(h)
    const saved = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: {
        csrf,
        action: 'save',
        ...second(partner, { 'clientSecret.mode': 'value', 'clientSecret.value': CLIENT.clientSecret }),
      },
    })
    expect(saved.status).toBe(303)
    expect(saved.headers.get('location')).toBe('/admin/providers/second?done=provider-saved')
    expect((await readdir(h.providersDir)).sort()).toEqual(['dev.json', 'second.json'])
    expect(h.app.registry.get('second')?.definition.displayName).toBe('Second SSO')
    // It signs people in.
    expect((await signIn(new TestBrowser(), h, 'carol', 'carol', { provider: 'second' })).status).toBe(200)

    // Edit: the form shows the file's values and never the secret; keeping it keeps it.
    const edit = await b.request(`${h.url}/admin/providers/second/edit`, { headers: HTML })
    expect(edit.status).toBe(200)
    expect(edit.body).toContain('value="Second SSO"')
    expect(edit.body).not.toContain(CLIENT.clientSecret)
    expect(edit.body).toContain('Keep as it is (a value in the file)')
    const edited = await post(b, h, '/admin/providers/second/edit', {
      csrf,
      action: 'save',
      ...second(partner, { displayName: 'Second, renamed', 'clientSecret.mode': 'keep', 'clientSecret.value': '' }),
    })
    expect(edited.status).toBe(303)
    const onDisk = JSON.parse(await readFile(join(h.providersDir, 'second.json'), 'utf8'))
    expect(onDisk.displayName).toBe('Second, renamed')
    expect(onDisk.clientSecret).toBe(CLIENT.clientSecret)
    expect(h.app.registry.get('second')?.definition.displayName).toBe('Second, renamed')
    // The name is the file's: a posted name is ignored.
    const renamed = await post(b, h, '/admin/providers/second/edit', {
      csrf,
      action: 'save',
      ...second(partner, { name: 'other', 'clientSecret.mode': 'keep' }),
    })
    expect(renamed.status).toBe(303)
    expect((await readdir(h.providersDir)).sort()).toEqual(['dev.json', 'second.json'])

    // Deleting one of two providers needs no lock-out confirmation.
    const confirm = await b.request(`${h.url}/admin/providers/second/delete`, { headers: HTML })
    expect(confirm.status).toBe(200)
    expect(confirm.body).not.toContain('data-field="lockout"')
    const deleted = await b.request(`${h.url}/admin/providers/second/delete`, { headers: HTML, form: { csrf } })
    expect(deleted.status).toBe(303)
    expect(await readdir(h.providersDir)).toEqual(['dev.json'])
    expect(h.app.registry.get('second')).toBeUndefined()

    // The last provider, with no administrator able to sign in by certificate: warned, and confirmed.
    const last = await b.request(`${h.url}/admin/providers/dev/delete`, { headers: HTML })
    expect(last.body).toContain('data-field="lockout"')
    const unconfirmed = await b.request(`${h.url}/admin/providers/dev/delete`, { headers: HTML, form: { csrf } })
    expect(unconfirmed.status).toBe(422)
    expect(await readdir(h.providersDir)).toEqual(['dev.json'])
    const confirmed = await b.request(`${h.url}/admin/providers/dev/delete`, {
      headers: HTML,
      form: { csrf, lockout: 'understood' },
    })
    expect(confirmed.status).toBe(303)
    expect(await readdir(h.providersDir)).toEqual([])

    const audit = await h.app.container.resolve<AuditLog>(TOKENS.AuditLog).query({ kind: 'admin' })
    const kinds = audit.filter((e) => e.reason?.startsWith('provider.')).map((e) => [e.reason, e.provider])
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['provider.create', 'second'],
        ['provider.edit', 'second'],
        ['provider.delete', 'second'],
        ['provider.delete', 'dev'],
      ]),
    )
  })

  it('edits a TypeScript provider file as TypeScript, with defineProvider', async () => {
    const h = track(
      await startHarness({
        users: USERS,
        providers: ({ providerJson }) => ({
          'dev.ts': `import { defineProvider } from 'otpki'\n// a comment\nexport default defineProvider(${providerJson({ createUnknownRoles: true })})\n`,
        }),
        overrides: { providerFilesWritable: true },
      }),
    )
    const { b, csrf } = await admin(h)
    const edit = await b.request(`${h.url}/admin/providers/dev/edit`, { headers: HTML })
    expect(edit.body).toContain('written anew: comments and computed values in it are not kept')
    const saved = await post(b, h, '/admin/providers/dev/edit', {
      csrf,
      action: 'save',
      ...second(h.provider.issuer, {
        displayName: 'Renamed SSO',
        'clientSecret.mode': 'keep',
        createUnknownRoles: 'on',
        scopes: 'openid profile email roles',
      }),
    })
    expect(saved.status).toBe(303)
    const text = await readFile(join(h.providersDir, 'dev.ts'), 'utf8')
    expect(text).toMatch(/^import \{ defineProvider \} from 'otpki'\n\nexport default defineProvider\(\{/)
    expect(text).toContain(`"clientSecret": "${CLIENT.clientSecret}"`)
    expect(h.app.registry.get('dev')?.definition.displayName).toBe('Renamed SSO')
    expect((await signIn(new TestBrowser(), h, 'admin')).status).toBe(200)
  })

  it('refuses a reader without changeProviders, a wrong CSRF token and a cross-site post', async () => {
    const h = track(await start(true))
    const { b, csrf } = await admin(h)
    const reader = new TestBrowser()
    expect((await signIn(reader, h, 'reader')).status).toBe(200)
    const list = await reader.request(`${h.url}/admin/providers`, { headers: HTML })
    expect(list.status).toBe(200)
    expect(list.body).not.toContain('/admin/providers/new')
    expect(list.body).not.toContain('/admin/providers/dev/edit')
    for (const path of ['/admin/providers/new', '/admin/providers/dev/edit', '/admin/providers/dev/delete'])
      expect((await reader.request(`${h.url}${path}`, { headers: HTML })).status).toBe(403)
    const post = await reader.request(`${h.url}/admin/providers/dev/delete`, {
      headers: HTML,
      form: { csrf, lockout: 'understood' },
    })
    expect(post.status).toBe(403)
    expect(post.body).toContain('This needs the changeProviders permission.')

    const forged = await b.request(`${h.url}/admin/providers/new`, {
      headers: HTML,
      form: { csrf: `${csrf.slice(0, -2)}xx`, action: 'save', ...second('https://partner.example') },
    })
    expect(forged.status).toBe(403)
    expect(forged.body).toContain('This form has expired.')
    const crossSite = await b.request(`${h.url}/admin/providers/dev/delete`, {
      headers: { ...HTML, origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      form: { csrf, lockout: 'understood' },
    })
    expect(crossSite.status).toBe(403)
    expect(await readdir(h.providersDir)).toEqual(['dev.json'])
  })
})
