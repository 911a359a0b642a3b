import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { checkIdentity } from '../../core/identity/identity-limits.ts'
import { normalizeUsername } from '../../core/identity/username.ts'
import type { MappedIdentity } from '../../core/index.ts'
import { TestCa } from '../../plugins/dev-provider/throwaway-ca.ts'
import { TestBrowser } from '../support/browser.ts'
import {
  closeAfterEach,
  forwardedCertificates,
  freePort,
  me,
  signIn,
  startHarness,
  type Harness,
} from '../support/harness.ts'
import { joseHarness as startJose } from '../support/jose-provider.ts'

const usernames = async (h: Harness) =>
  (
    (await h.app.orm.em.fork().getConnection().execute('select username from users order by id')) as {
      username: string
    }[]
  ).map((r) => r.username)

/** SECURITY.md, "Identities and output": usernames and claim-derived fields from any source. */
describe('usernames are normalised and checked wherever they come from', () => {
  const track = closeAfterEach()

  async function joseHarness(extra: Record<string, unknown> = {}) {
    const { jose, h } = await startJose(track, { createUnknownRoles: true, ...extra })
    const as = async (claims: Record<string, unknown>) => {
      jose.behaviour.claims = claims
      const browser = new TestBrowser()
      const page = await signIn(browser, h, 'x', 'x', { provider: 'jose' })
      return { page, me: await me(browser, h) }
    }
    return { jose, h, as }
  }

  it('a case or width variant of a taken username is taken: refused, never signed in as its owner', async () => {
    const { h, as } = await joseHarness()
    expect((await as({ sub: 'a', preferred_username: 'alice' })).me.body.user.username).toBe('alice')
    for (const [sub, name] of [
      ['b', 'ALICE'],
      ['c', 'Alice'],
      ['d', 'ａｌｉｃｅ'],
    ] as const) {
      const { page, me: after } = await as({ sub, preferred_username: name })
      expect(page.status, name).toBe(409)
      expect(after.status, name).toBe(401)
    }
    expect(await usernames(h)).toEqual(['alice'])
  })

  it('with usernameCollision: suffix, the variant gets a free name', async () => {
    const { h, as } = await joseHarness({ usernameCollision: 'suffix' })
    await as({ sub: 'a', preferred_username: 'alice' })
    expect((await as({ sub: 'b', preferred_username: 'Alice' })).me.body.user.username).toBe('Alice-2')
    expect(await usernames(h)).toEqual(['alice', 'Alice-2'])
  })

  it('refuses usernames outside the documented character set and length, and oversized claims', async () => {
    const { h, as } = await joseHarness()
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['a path', { preferred_username: '../../etc/passwd' }, /USERNAME_INVALID/],
      ['a slash', { preferred_username: 'ops/admin' }, /USERNAME_INVALID/],
      ['a backslash', { preferred_username: 'ops\\admin' }, /USERNAME_INVALID/],
      ['a control character', { preferred_username: 'bob\u0007' }, /USERNAME_INVALID/],
      ['a bidi override', { preferred_username: 'bob\u202etxt.exe' }, /USERNAME_INVALID/],
      ['a new line', { preferred_username: 'bob\nadmin' }, /USERNAME_INVALID/],
      ['only spaces', { preferred_username: '   ' }, /USERNAME_INVALID|CLAIM/],
      ['129 characters', { preferred_username: 'a'.repeat(129) }, /USERNAME_INVALID/],
      [
        'an oversized first name',
        { preferred_username: 'ok1', given_name: 'x'.repeat(256) },
        /IDENTITY_INVALID.*firstName/,
      ],
      [
        'a control character in the last name',
        { preferred_username: 'ok2', family_name: 'Doe\u001b[2J' },
        /IDENTITY_INVALID.*lastName/,
      ],
      [
        'an oversized email',
        { preferred_username: 'ok3', email: `${'x'.repeat(320)}@example.test` },
        /IDENTITY_INVALID.*email/,
      ],
      [
        '101 roles',
        { preferred_username: 'ok4', roles: Array.from({ length: 101 }, (_, i) => `r${i}`) },
        /IDENTITY_INVALID.*roles/,
      ],
      ['an oversized role name', { preferred_username: 'ok5', roles: ['r'.repeat(129)] }, /IDENTITY_INVALID.*role/],
    ]
    for (const [what, claims, reason] of cases) {
      const logged = h.logs.lines.length
      const { page, me: after } = await as({ sub: `sub-${what}`, ...claims })
      expect(page.status, what).toBe(400)
      expect(page.body, what).not.toMatch(/etc\/passwd|\u001b|xxxxxxxxxx/)
      expect(after.status, what).toBe(401)
      expect(
        h.logs.lines
          .slice(logged)
          .map((l) => String(l.msg))
          .join('\n'),
        what,
      ).toMatch(reason)
    }
    expect(await usernames(h)).toEqual([])
    // Within the limits, the same shapes sign in; a username is stored NFKC-normalised.
    expect(
      (
        await as({
          sub: 'fine',
          preferred_username: "Ｊöran O'Brien-Smith",
          given_name: 'x'.repeat(255),
          roles: Array.from({ length: 100 }, (_, i) => `r${i}`),
        })
      ).me.body.user.username,
    ).toBe("Jöran O'Brien-Smith")
  })

  it('attributes and the rules themselves, as a unit', () => {
    const identity: MappedIdentity = {
      issuer: 'i',
      subject: 's',
      username: 'u',
      firstName: undefined,
      lastName: undefined,
      email: undefined,
      emailVerified: false,
      roles: undefined,
      attributes: {},
    }
    expect(() => checkIdentity({ ...identity, attributes: { blob: 'x'.repeat(16_384) } })).toThrow(
      /attributes are larger than 16384 bytes/,
    )
    expect(checkIdentity({ ...identity, attributes: { department: 'pki' } }).attributes).toEqual({ department: 'pki' })
    expect(normalizeUsername('  ｒｏｂｏｔ ')).toBe('robot')
    for (const bad of ['.', '..', '-x', 'a  b', 'a\tb', 'a:b', 'a;b', ''])
      expect(() => normalizeUsername(bad), JSON.stringify(bad)).toThrow(/USERNAME|username/)
  })
})

describe('a certificate names its user by exactly one CN', () => {
  const track = closeAfterEach()
  let ca: TestCa
  beforeAll(async () => {
    ca = await TestCa.create()
  })

  it('refuses multi-valued RDNs, several CNs, names outside the character set and case variants of taken names', async () => {
    const h = track(
      await startHarness({
        overrides: {
          clientCertificate: forwardedCertificates(),
        },
      }),
    )
    const send = async (subject: string) => {
      const cert = await ca.client(subject)
      const res = await fetch(`${h.url}/auth/me`, { headers: { 'ssl-client-cert': encodeURIComponent(cert.certPem) } })
      return { status: res.status, body: (await res.json()) as { message?: string; user?: { username: string } } }
    }
    expect((await send('CN=robot')).body.user?.username).toBe('robot')
    const cases: [string, RegExp][] = [
      ['CN=robot2+O=Example', /multi-valued RDN/],
      ['O=Example+CN=robot3', /multi-valued RDN/],
      ['CN=one, CN=two', /several common names/],
      ['CN=one+CN=two', /several common names/],
      ['O=Example', /no common name/],
      ['CN=../../robot', /may hold only/],
      ['CN=ROBOT', /username of an existing account/],
    ]
    for (const [subject, reason] of cases) {
      const { status, body } = await send(subject)
      expect(status, subject).toBe(401)
      expect(body.message, subject).toMatch(reason)
    }
    expect(await usernames(h)).toEqual(['robot'])
  })
})

describe('configuration input and response hygiene', () => {
  const track = closeAfterEach()

  it('__proto__, constructor and prototype are unknown keys in every config file, at any depth', async () => {
    const h = track(await startHarness())
    const base = JSON.parse(h.providerJson()) as Record<string, unknown>
    const json = (extra: string) => JSON.stringify(base).replace(/^\{/, `{${extra},`)
    const cases: [string, string, string][] = [
      ['proto.json', json('"__proto__": { "enabled": false }'), '__proto__'],
      ['ctor.json', json('"constructor": { "prototype": { "polluted": true } }'), 'constructor'],
      ['nested.json', json('"claims": { "__proto__": { "username": ["sub"] } }'), 'claims.__proto__'],
      ['mapper.json', json('"mappers": [{ "type": "attribute", "prototype": 1 }]'), 'mappers[0].prototype'],
      [
        'literal.ts',
        `export default { __proto__: { issuer: ${JSON.stringify(base.issuer)} }, clientId: 'c', clientSecret: 's' }\n`,
        '__proto__',
      ],
    ]
    for (const [file, content, key] of cases) {
      const report = await h.writeProvider(file, content)
      const issues = report.issues.filter((i) => i.file.endsWith(file))
      expect(
        issues.map((i) => i.key),
        file,
      ).toContain(key)
      expect(issues.find((i) => i.key === key)?.reason, file).toMatch(/is not a known key/)
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    await expect(startHarness({ overrides: { constructor: { x: 1 } } })).rejects.toThrow(
      /constructor: is not a known key/,
    )
  })

  it('an error about a file names file, line and column, never a fragment of its content', async () => {
    const h = track(await startHarness())
    const secret = 'do-not-print-this-4af1'
    const json = await h.writeProvider(
      'broken.json',
      `{\n  "clientSecret": "${secret}",\n  "issuer": https://sso.example\n}\n`,
    )
    const jsonIssue = json.issues.find((i) => i.file === join(h.providersDir, 'broken.json'))!
    expect(jsonIssue.reason).toMatch(/^invalid JSON: line 3, column 13: /)
    const ts = await h.writeProvider('broken.ts', `export default {\n  clientSecret: '${secret}' +\n}\n`)
    const tsIssue = ts.issues.find((i) => i.file === join(h.providersDir, 'broken.ts'))!
    expect(tsIssue.reason).toMatch(/line 3, column 1\b/)
    const thrown = await h.writeProvider(
      'throws.ts',
      `const config = undefined as any\nexport default { clientSecret: '${secret}', issuer: config.issuer }\n`,
    )
    expect(thrown.issues.find((i) => i.file.endsWith('throws.ts'))!.reason).toMatch(
      /TypeError: .*\(line 2, column \d+\)/,
    )
    for (const issue of [...json.issues, ...ts.issues, ...thrown.issues]) expect(issue.reason).not.toContain(secret)
    expect(h.logs.raw.join('\n')).not.toContain(secret)
  })

  it('Strict-Transport-Security on every response when publicUrl is https, and none over plain http', async () => {
    const port = await freePort()
    const h = track(await startHarness({ overrides: { port, publicUrl: `https://localhost:${port}` } }))
    const base = h.app.url
    for (const path of [
      '/',
      '/auth/sign-in',
      '/auth/sign-in?provider=dev',
      '/auth/me',
      '/healthz',
      '/readyz',
      '/auth/static/style.css',
      '/no-such-page',
      '/auth/callback',
    ]) {
      const res = await fetch(`${base}${path}`, { redirect: 'manual' })
      expect(res.headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains')
    }
    const post = await fetch(`${base}/auth/sign-out`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=x',
    })
    expect(post.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains')
    const plain = track(await startHarness())
    expect((await fetch(`${plain.url}/auth/me`)).headers.get('strict-transport-security')).toBeNull()
  })
})
