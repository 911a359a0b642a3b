import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { explainClaims, startApp } from '../../../core/app.ts'
import { TestBrowser } from '../../support/browser.ts'
import { closeAfterEach, me, signIn, startHarness, type Harness } from '../../support/harness.ts'

const fixtures = resolve(import.meta.dirname, '../../fixtures')
const rows = (h: Harness, sql: string) =>
  h.app.orm.em.fork().getConnection().execute(sql) as Promise<Record<string, unknown>[]>

async function signInWith(h: Harness, user: string, claims: Record<string, unknown>) {
  Object.assign(h.provider.users[user]!.claims, claims)
  const browser = new TestBrowser()
  const page = await signIn(browser, h, user)
  return { page, me: await me(browser, h) }
}

describe('sync modes and role scope', () => {
  const track = closeAfterEach()

  it('import: names and roles are set at the first sign-in only', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ syncMode: 'import', createUnknownRoles: true }),
        }),
      }),
    )
    await signInWith(h, 'alice', { roles: ['a'] })
    const { me: later } = await signInWith(h, 'alice', { given_name: 'Changed', roles: ['b'] })
    expect(later.body.user).toMatchObject({ firstName: 'Alice', roles: ['a'] })
  })

  it('legacy: names at the first sign-in, roles at every sign-in', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ syncMode: 'legacy', createUnknownRoles: true }),
        }),
      }),
    )
    await signInWith(h, 'alice', { roles: ['a'] })
    const { me: later } = await signInWith(h, 'alice', { given_name: 'Changed', roles: ['b'] })
    expect(later.body.user).toMatchObject({ firstName: 'Alice', roles: ['b'] })
  })

  it("a mapper's own syncMode overrides the provider's for its field", async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({
            mappers: [
              { type: 'attribute', claim: 'department', attribute: 'department', syncMode: 'import' },
              { type: 'attribute', claim: 'office', attribute: 'office' },
            ],
          }),
        }),
      }),
    )
    await signInWith(h, 'alice', { department: 'Finance', office: 'Berlin' })
    await signInWith(h, 'alice', { department: 'Sales', office: 'Paris', given_name: 'Alicia' })
    const [user] = await rows(h, "select first_name, attributes from users where username = 'alice'")
    expect(user!.first_name).toBe('Alicia')
    expect(JSON.parse(String(user!.attributes))).toEqual({ department: 'Finance', office: 'Paris' })
  })

  it('roleSyncScope provider: only the roles that came from this provider change', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({ roleSyncScope: 'provider', createUnknownRoles: true }),
        }),
      }),
    )
    await signInWith(h, 'alice', { roles: ['from-idp'] })
    // An administrator gives alice another role.
    await rows(h, "insert into roles (name, system, created_at) values ('granted', false, 0)")
    await rows(
      h,
      "insert into user_roles (user_id, role_id, source, created_at) select u.id, r.id, null, 0 from users u, roles r where u.username = 'alice' and r.name = 'granted'",
    )
    const { me: later } = await signInWith(h, 'alice', { roles: ['other-from-idp'] })
    expect(later.body.user.roles).toEqual(['granted', 'other-from-idp'])
    await h.writeProvider('dev.json', h.providerJson({ createUnknownRoles: true }))
    const { me: all } = await signInWith(h, 'alice', { roles: ['other-from-idp'] })
    expect(all.body.user.roles).toEqual(['other-from-idp'])
  })

  it('usernameCollision suffix: a new identity with a taken username gets another one, never the existing account', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ usernameCollision: 'suffix' }) }),
      }),
    )
    await signInWith(h, 'admin', {})
    h.provider.users.mallory = { password: 'mallory', claims: { preferred_username: 'admin', given_name: 'Mal' } }
    const { me: mallory } = await signInWith(h, 'mallory', {})
    expect(mallory.body.user).toMatchObject({ username: 'admin-2', firstName: 'Mal' })
    expect(
      await rows(h, "select u.username from identities i join users u on u.id = i.user_id where i.subject = 'admin'"),
    ).toEqual([{ username: 'admin' }])
  })
})

describe('flows and plugins', () => {
  const track = closeAfterEach()

  it('firstLoginFlow denies with its message and creates nobody; postLoginFlow runs at every sign-in', async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({
            firstLoginFlow: [
              {
                type: 'require-claim',
                claim: 'email',
                pattern: '.+@example\\.test',
                message: 'Only example.test accounts may join.',
              },
            ],
          }),
        }),
      }),
    )
    h.provider.users.eve = { password: 'eve', claims: { preferred_username: 'eve', email: 'eve@evil.test' } }
    const browser = new TestBrowser()
    const refused = await signIn(browser, h, 'eve')
    expect(refused.status).toBe(403)
    expect(refused.body).toContain('Only example.test accounts may join.')
    expect(await rows(h, "select cast(count(*) as integer) as n from users where username = 'eve'")).toEqual([{ n: 0 }])
    expect((await signInWith(h, 'alice', {})).page.status).toBe(200)

    await h.writeProvider('dev.json', h.providerJson({ postLoginFlow: [{ type: 'require-verified-email' }] }))
    const { page } = await signInWith(h, 'alice', { email_verified: false })
    expect(page.status).toBe(403)
    expect(page.body).toContain('needs a verified email address')
  })

  it('a plugin loaded from a path adds a flow step that amends the identity', async () => {
    const h = track(
      await startHarness({
        overrides: { plugins: [[join(fixtures, 'amend-plugin.ts'), { tag: '(contractor)' }]] },
        providers: ({ providerJson }) => ({ 'dev.json': providerJson({ postLoginFlow: [{ type: 'tag-last-name' }] }) }),
      }),
    )
    const { me: alice } = await signInWith(h, 'alice', {})
    expect(alice.body.user.lastName).toBe('Example (contractor)')
  })

  it('a plugin with bad options, or that throws, stops the start with a clear error', async () => {
    const base = {
      configFile: false as const,
      env: {},
      overrides: { database: ':memory:', port: 0, logLevel: 'silent' },
    }
    await expect(
      startApp({
        ...base,
        overrides: { ...base.overrides, plugins: [[join(fixtures, 'amend-plugin.ts'), { tagg: 'x' }]] },
      }),
    ).rejects.toThrow(
      /plugin test-amend: option tag: is required[\s\S]*plugin test-amend: option tagg: is not a known key/,
    )
    await expect(
      startApp({ ...base, overrides: { ...base.overrides, plugins: [join(fixtures, 'throwing-plugin.ts')] } }),
    ).rejects.toThrow('plugin test-throws: register failed: the license server is unreachable')
    await expect(
      startApp({ ...base, overrides: { ...base.overrides, plugins: ['./no/such/plugin.ts'] } }),
    ).rejects.toThrow(/plugin \.\/no\/such\/plugin\.ts: cannot be loaded/)
  })

  it('a plugin named by package is found from the config file’s directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpki-pkg-'))
    const pkg = join(dir, 'node_modules', 'otpki-plugin-greeting')
    await mkdir(pkg, { recursive: true })
    await writeFile(
      join(pkg, 'package.json'),
      JSON.stringify({ name: 'otpki-plugin-greeting', type: 'module', main: 'index.js' }),
    )
    await writeFile(
      join(pkg, 'index.js'),
      "export default { name: 'greeting', kind: 'claim-mapper', register(ctx) { ctx.registerClaimMapper({ name: 'greeting', map: (input, identity) => ({ ...identity, attributes: { ...identity.attributes, greeting: 'hello' } }) }) } }\n",
    )
    await writeFile(join(dir, 'otpki.config.ts'), "export default { plugins: ['otpki-plugin-greeting'] }\n")
    const { composeApp } = await import('../../../core/app.ts')
    const app = await composeApp({
      configFile: join(dir, 'otpki.config.ts'),
      env: {},
      overrides: { logLevel: 'silent' },
      watch: false,
    })
    expect(app.registrations.plugins).toContain('greeting')
    expect(app.registrations.claimMappers.map((m) => m.name)).toContain('greeting')
    await rm(dir, { recursive: true, force: true })
  })

  it('mapper and flow entries are checked when the provider file loads, naming file and key', async () => {
    const h = track(await startHarness())
    const report = await h.writeProvider(
      'dev.json',
      h.providerJson({
        mappers: [{ type: 'claim-to-role', value: 'x' }, { type: 'no-such-mapper' }],
        postLoginFlow: [{ type: 'require-claim' }],
      }),
    )
    const file = join(h.providersDir, 'dev.json')
    expect(report.issues).toEqual(
      expect.arrayContaining([
        { file, key: 'mappers[0].claim', reason: 'is required' },
        { file, key: 'mappers[0].role', reason: 'is required' },
        { file, key: 'mappers[1].type', reason: expect.stringContaining('unknown mapper "no-such-mapper"') },
        { file, key: 'postLoginFlow[0].claim', reason: 'is required' },
      ]),
    )
  })
})

describe('otpki explain', () => {
  const track = closeAfterEach()

  it("runs the provider's chain against the current database and writes nothing", async () => {
    const h = track(
      await startHarness({
        providers: ({ providerJson }) => ({
          'dev.json': providerJson({
            createUnknownRoles: true,
            mappers: [
              { type: 'claim-to-role', claim: 'isAdmin', value: 'true', role: 'admin' },
              { type: 'attribute', claim: 'department', attribute: 'department' },
            ],
          }),
        }),
      }),
    )
    await signInWith(h, 'alice', { roles: ['user'] })
    const before = await rows(
      h,
      'select (select cast(count(*) as integer) from users) as users, (select cast(count(*) as integer) from roles) as roles, (select cast(count(*) as integer) from user_roles) as links',
    )
    const options = {
      configFile: false as const,
      env: {},
      overrides: {
        database: join(h.dir, 'otpki.sqlite'),
        providersDir: h.providersDir,
        publicUrl: h.url,
        logLevel: 'silent',
      },
    }

    const existing = await explainClaims(options, 'dev', {
      sub: 'alice',
      preferred_username: 'alice',
      given_name: 'Al',
      roles: ['user'],
      isAdmin: true,
      department: 'Finance',
    })
    expect(existing.explanation).toMatchObject({
      firstLogin: false,
      refused: undefined,
      existing: { username: 'alice' },
      user: { firstName: 'Al', roles: ['admin', 'user'], attributes: { department: 'Finance' } },
    })
    expect(existing.explanation.identity.provenance).toMatchObject({
      firstName: 'otpki-default',
      roles: 'claim-to-role#1',
      'attributes.department': 'attribute#2',
    })

    const newcomer = await explainClaims(options, 'dev', { sub: 'bob', preferred_username: 'alice' })
    expect(newcomer.explanation).toMatchObject({
      firstLogin: true,
      user: undefined,
      refused: expect.stringContaining('USERNAME_TAKEN'),
    })

    expect(
      await rows(
        h,
        'select (select cast(count(*) as integer) from users) as users, (select cast(count(*) as integer) from roles) as roles, (select cast(count(*) as integer) from user_roles) as links',
      ),
    ).toEqual(before)
    expect((await rows(h, "select first_name from users where username = 'alice'"))[0]!.first_name).toBe('Alice')
  })
})
