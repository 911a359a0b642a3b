import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { TestBrowser } from '../../support/browser.ts'
import { ensureBuilt } from '../../support/build.ts'
import { otpki } from '../../support/cli.ts'
import { closeAfterEach, me, signIn } from '../../support/harness.ts'
import { joseHarness } from '../../support/jose-provider.ts'

const CLIENT_ID = 'otpki'
const SECRET = 'preset-test-secret'

/**
 * Each preset against an emulation of its provider: the claims that provider
 * sends (in the ID token and userinfo), a sign-in through the pages, and what
 * OTPKI made of them.
 */
describe('provider presets', () => {
  const track = closeAfterEach()

  const start = async (file: Record<string, unknown>, claims: Record<string, unknown>, userinfo = {}) => {
    return joseHarness(
      track,
      { createUnknownRoles: true, ...file },
      { clientId: CLIENT_ID, clientSecret: SECRET, file: 'idp.json', behaviour: { claims, userinfoClaims: userinfo } },
    )
  }
  const signInUser = async (h: Awaited<ReturnType<typeof start>>['h']) => {
    const browser = new TestBrowser()
    expect((await signIn(browser, h, 'x', 'x', { provider: 'idp' })).status).toBe(200)
    return (await me(browser, h)).body.user as {
      username: string
      firstName?: string
      lastName?: string
      email?: string
      roles: string[]
    }
  }

  it('keycloak: realm and client roles together, the roles scope', async () => {
    const { jose, h } = await start(
      { preset: 'keycloak' },
      {
        sub: 'f81d4fae-7dec-11d0-a765-00a0c91e6bf6',
        preferred_username: 'kc.user',
        given_name: 'Kay',
        family_name: 'Cloak',
        email: 'kc@example.test',
        email_verified: true,
        realm_access: { roles: ['staff', 'offline_access'] },
        resource_access: { [CLIENT_ID]: { roles: ['pki-operator'] }, account: { roles: ['manage-account'] } },
      },
    )
    const user = await signInUser(h)
    expect(user).toMatchObject({ username: 'kc.user', firstName: 'Kay', lastName: 'Cloak', email: 'kc@example.test' })
    expect(user.roles.sort()).toEqual(['offline_access', 'pki-operator', 'staff'])
    expect(jose.lastAuthorization?.get('scope')).toBe('openid profile email roles')
    expect(h.app.registry.get('idp')?.definition.preset).toEqual({
      name: 'keycloak',
      keys: ['scopes', 'claims.username', 'claims.roles', 'claims.additionalRoles'],
    })
  })

  it('entra-id: keyed by oid, the UPN as username, the full name split, app roles cleared when Entra omits them', async () => {
    const claims = {
      sub: 'pairwise-subject-1',
      oid: '00000000-0000-0000-66f3-3332eca7ea81',
      tid: '9188040d-6c67-4c5b-b112-36a304b66dad',
      preferred_username: 'ada@contoso.example',
      name: 'Ada King Lovelace',
      email: 'ada@contoso.example',
      roles: ['Certificate.Approver'],
    }
    const { jose, h } = await start({ preset: 'entra-id' }, claims)
    const first = await signInUser(h)
    expect(first).toMatchObject({ username: 'ada@contoso.example', firstName: 'Ada King', lastName: 'Lovelace' })
    expect(first.roles).toEqual(['Certificate.Approver'])
    // The role is revoked in Entra: the claim is gone, and so is the role. A new sub, the same oid: the same user.
    const { roles: _revoked, ...withoutRoles } = claims
    jose.behaviour = { claims: { ...withoutRoles, sub: 'pairwise-subject-2' } }
    const again = await signInUser(h)
    expect(again.username).toBe('ada@contoso.example')
    expect(again.roles).toEqual([])
    const users = await h.app.users.list()
    expect(users.filter((u) => u.username.startsWith('ada')).length).toBe(1)
  })

  it('entra-id, multi-tenant: the token names its own tenant, which must be allowed; identities are kept per tenant', async () => {
    const allowed = ['9188040d-6c67-4c5b-b112-36a304b66dad', '72f988bf-86f1-41af-91ab-2d7cd011db47']
    const other = '0c9b5e32-1ab2-4f6e-9d4e-3b1b6a0f2c11'
    const tenant = (tid: string) => `https://login.microsoftonline.com/${tid}/v2.0`
    const user = (tid: string) => ({
      claims: {
        sub: `pairwise-${tid}`,
        oid: '00000000-0000-0000-66f3-3332eca7ea81',
        tid,
        preferred_username: `ada@${tid.slice(0, 4)}.example`,
        name: 'Ada Lovelace',
      },
      idTokenClaims: { iss: tenant(tid) },
    })
    const { jose, h } = await joseHarness(
      track,
      {},
      {
        clientId: CLIENT_ID,
        clientSecret: SECRET,
        // Entra's multi-tenant discovery: the issuer is a template; no iss in the authorization response.
        behaviour: {
          ...user(allowed[0]!),
          discoveryIssuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
          discovery: { authorization_response_iss_parameter_supported: false },
          issParam: null,
        },
      },
    )
    await h.removeProvider('jose.json')
    // The issuer is Entra's own; the emulation answers for it (backchannelUrl), as a private network path would.
    const file = {
      preset: 'entra-id',
      issuer: 'https://login.microsoftonline.com/organizations/v2.0',
      backchannelUrl: jose.issuer,
      clientId: CLIENT_ID,
      clientSecret: SECRET,
      createUnknownRoles: true,
    }
    const refused = await h.writeProvider('idp.json', JSON.stringify(file))
    expect(refused.issues).toContainEqual(
      expect.objectContaining({
        key: 'tenants',
        reason: expect.stringContaining('is required for a multi-tenant Entra ID issuer'),
      }),
    )
    await h.writeProvider('idp.json', JSON.stringify({ ...file, tenants: allowed }))
    expect(await signInUser(h)).toMatchObject({ username: 'ada@9188.example', firstName: 'Ada', lastName: 'Lovelace' })
    jose.behaviour = { ...jose.behaviour, ...user(allowed[1]!) }
    expect((await signInUser(h)).username).toBe('ada@72f9.example')
    // The same oid in two tenants: two identities, each under its tenant's issuer.
    const identities = await h.app.orm.em
      .fork()
      .getConnection()
      .execute('select issuer, subject from identities order by id')
    expect(identities).toEqual([
      { issuer: tenant(allowed[0]!), subject: '00000000-0000-0000-66f3-3332eca7ea81' },
      { issuer: tenant(allowed[1]!), subject: '00000000-0000-0000-66f3-3332eca7ea81' },
    ])
    // A tenant not listed is refused; so is a token whose iss is not its own tid's.
    jose.behaviour = { ...jose.behaviour, ...user(other) }
    const stranger = await signIn(new TestBrowser(), h, 'x', 'x', { provider: 'idp' })
    expect(stranger.status).toBe(400)
    expect(stranger.body).toContain('Accounts of your organization cannot sign in here')
    jose.behaviour = { ...jose.behaviour, ...user(allowed[0]!), idTokenClaims: { iss: tenant(allowed[1]!) } }
    expect((await signIn(new TestBrowser(), h, 'x', 'x', { provider: 'idp' })).status).toBeGreaterThanOrEqual(400)
    expect((await h.app.users.list()).length).toBe(2)
    // Bearer tokens too: one naming an allowed tenant's issuer is its user; another tenant's is refused.
    const bearer = (tid: string) =>
      jose.accessToken(CLIENT_ID, { iss: tenant(tid), tid, sub: `pairwise-${tid}`, oid: user(tid).claims.oid })
    const api = await me(new TestBrowser(), h, await bearer(allowed[1]!))
    expect(api.status).toBe(200)
    expect(api.body).toMatchObject({ method: 'bearer', user: { username: 'ada@72f9.example' } })
    expect((await me(new TestBrowser(), h, await bearer(other))).status).toBe(401)
  })

  it('okta, cognito and gatekeeper: groups as roles, with the scopes each needs', async () => {
    const okta = await start(
      { preset: 'okta' },
      { sub: '00u1abcd', preferred_username: 'jo@example.test', groups: ['Everyone', 'pki-admins'] },
    )
    expect(await signInUser(okta.h)).toMatchObject({ username: 'jo@example.test', roles: ['Everyone', 'pki-admins'] })
    expect(okta.jose.lastAuthorization?.get('scope')).toBe('openid profile email groups')

    const cognito = await start(
      { preset: 'cognito' },
      { sub: 'c0gn170', 'cognito:username': 'robin', 'cognito:groups': ['operators'], email: 'robin@example.test' },
    )
    expect(await signInUser(cognito.h)).toMatchObject({ username: 'robin', roles: ['operators'] })

    const gatekeeper = await start(
      { preset: 'gatekeeper' },
      { sub: 'g1', preferred_username: 'gate.user', groups: ['viewers'] },
    )
    expect(await signInUser(gatekeeper.h)).toMatchObject({ username: 'gate.user', roles: ['viewers'] })
  })

  it('google and auth0: a username from the email or the nickname; auth0 roles from a namespaced claim', async () => {
    const google = await start(
      { preset: 'google' },
      {
        sub: '110169484474386276334',
        email: 'sam@gmail.example',
        email_verified: true,
        name: 'Sam Doe',
        given_name: 'Sam',
        family_name: 'Doe',
      },
    )
    expect(await signInUser(google.h)).toMatchObject({ username: 'sam@gmail.example', firstName: 'Sam' })

    const auth0 = await start(
      { preset: 'auth0' },
      { sub: 'auth0|5f7c8ec7c33c6c004bbafe82', nickname: 'lee', 'https://otpki/roles': ['editor'] },
    )
    expect(await signInUser(auth0.h)).toMatchObject({ username: 'lee', roles: ['editor'] })
  })

  it('keys the file sets win over the preset, claims key by key; an unknown preset is refused with the known ones', async () => {
    const { h } = await start(
      { preset: 'keycloak', scopes: ['openid', 'profile'], claims: { roles: 'groups' } },
      {
        sub: 'k2',
        preferred_username: 'k2.user',
        groups: ['from-groups'],
        realm_access: { roles: ['realm-role'] },
        resource_access: { [CLIENT_ID]: { roles: ['client-role'] } },
      },
    )
    const user = await signInUser(h)
    expect(user.roles.sort()).toEqual(['client-role', 'from-groups'])
    expect(h.app.registry.get('idp')?.definition.preset?.keys).toEqual(['claims.username', 'claims.additionalRoles'])

    const report = await h.writeProvider(
      'bad.json',
      JSON.stringify({ preset: 'ping', issuer: 'https://x.example', clientId: 'c', clientSecret: 's' }),
    )
    expect(report.issues).toEqual([
      {
        file: join(h.providersDir, 'bad.json'),
        key: 'preset',
        reason: 'unknown preset "ping" (known: auth0, cognito, entra-id, gatekeeper, google, keycloak, okta)',
      },
    ])
  })

  it('a username-template mapper builds the username when the provider sends no username claim', async () => {
    const { h } = await start(
      {
        claims: { username: ['preferred_username'] },
        mappers: [{ type: 'username-template', template: '${given_name}.${family_name}' }],
      },
      { sub: 'no-username-1', given_name: 'Grace', family_name: 'Hopper' },
    )
    expect((await signInUser(h)).username).toBe('grace.hopper')
  })

  it('otpki explain shows what came from the preset', async () => {
    ensureBuilt()
    const dir = await mkdtemp(join(tmpdir(), 'otpki-preset-'))
    try {
      await mkdir(join(dir, 'providers'))
      await writeFile(
        join(dir, 'otpki.config.json'),
        JSON.stringify({ providersDir: 'providers', database: ':memory:' }),
      )
      await writeFile(
        join(dir, 'providers', 'entra.json'),
        JSON.stringify({
          preset: 'entra-id',
          issuer: 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0',
          clientId: 'app',
          clientSecret: 's',
          claims: { username: ['email'] },
        }),
      )
      await writeFile(
        join(dir, 'claims.json'),
        JSON.stringify({
          iss: 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0',
          sub: 's',
          oid: 'o-1',
          email: 'ada@contoso.example',
          name: 'Ada Lovelace',
        }),
      )
      const explain = (...flags: string[]) =>
        otpki([
          'explain',
          '--provider',
          'entra',
          '--claims',
          join(dir, 'claims.json'),
          ...flags,
          '-c',
          join(dir, 'otpki.config.json'),
        ])
      const out = await explain()
      expect(out.stderr).toBe('')
      expect(out.stdout).toContain('preset: entra-id; from it (the file sets none of these):')
      expect(out.stdout).toMatch(/ {2}claims\.subject +"oid"/)
      expect(out.stdout).toMatch(/ {2}absentRoles +"clear"/)
      expect(out.stdout).not.toMatch(/ {2}claims\.username /)
      expect(out.stdout).toContain('identity: o-1 at https://login.microsoftonline.com/')
      expect(out.stdout).toMatch(/firstName +Ada /)
      expect(out.stdout).toContain('(none)')
      const json = await explain('--json')
      const parsed = JSON.parse(json.stdout)
      expect(parsed.preset.name).toBe('entra-id')
      expect(parsed.preset.keys).toContain('claims.subject')
      expect(parsed.preset.keys).not.toContain('claims.username')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
