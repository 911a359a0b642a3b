import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { durationToSeconds } from '../../../core/config/duration.ts'
import { composeApp } from '../../../core/app.ts'
import { loadMainConfig } from '../../../core/config/main-config.ts'
import { loadProviderFile, validateProvider } from '../../../core/config/provider-loader.ts'
import { providerDefaults } from '../../support/provider-defaults.ts'
import { isOtpkiError } from '../../../core/errors.ts'

const defaults = providerDefaults
const base = { issuer: 'https://sso.example.com/realms/pki', clientId: 'otpki', clientSecret: 's3cret-value' }
const issuesOf = (input: unknown, file = '/etc/otpki/providers/keycloak.json') => {
  const result = validateProvider(input, file, defaults)
  return result.ok ? [] : result.issues
}

describe('provider validation', () => {
  it('applies defaults and names the provider after its file', () => {
    const result = validateProvider(base, '/x/keycloak.json', defaults)
    expect(result.ok && result.provider).toMatchObject({
      name: 'keycloak',
      displayName: 'keycloak',
      strategy: 'oidc',
      options: {
        redirectUrl: 'https://pki.example.com/auth/callback',
        postLogoutUrl: 'https://pki.example.com/auth/signed-out',
        scopes: ['openid', 'profile', 'email'],
        clientAuthentication: 'client_secret_basic',
      },
      sessionMaxInactive: 1800,
      sessionMaxLength: 36000,
      createUnknownUsers: true,
      createUnknownRoles: false,
      enabled: true,
    })
  })

  it('regression: null values (found by the config fuzz test) mean "not given", never a crash', () => {
    const result = validateProvider(
      { ...base, scopes: null, displayName: null, endpoints: { token: null } },
      '/x/a.json',
      defaults,
    )
    expect(result.ok && result.provider.options.scopes).toEqual(['openid', 'profile', 'email'])
    expect(issuesOf({ ...base, issuer: null })).toEqual([{ key: 'issuer', reason: 'is required' }])
  })

  it('an unknown key is an error naming the key', () => {
    expect(issuesOf({ ...base, clientSecrett: 'x' })).toEqual([{ key: 'clientSecrett', reason: 'is not a known key' }])
  })

  it('names each wrong or missing key with its reason, and never echoes a value', () => {
    const issues = issuesOf({
      issuer: 'not a url',
      displayOrder: 'first',
      enabled: 'yes',
      scopes: 'openid',
      sessionMaxInactive: 'soon',
      clientSecret: 42,
    })
    expect(issues).toEqual(
      expect.arrayContaining([
        { key: 'issuer', reason: 'must be an absolute URL' },
        { key: 'clientId', reason: 'is required' },
        { key: 'displayOrder', reason: 'must be a whole number' },
        { key: 'enabled', reason: 'must be true or false' },
        { key: 'scopes', reason: 'must be an array of non-empty strings' },
        { key: 'sessionMaxInactive', reason: expect.stringContaining('must be a duration') },
        { key: 'clientSecret', reason: expect.stringContaining('must be a non-empty string') },
      ]),
    )
    expect(JSON.stringify(issues)).not.toContain('42')
  })

  it('requires https except for loopback hosts', () => {
    expect(issuesOf({ ...base, issuer: 'http://sso.example.com' })).toEqual([
      { key: 'issuer', reason: expect.stringContaining('must use https') },
    ])
    for (const issuer of [
      'http://localhost:8080',
      'http://127.0.0.1:8080/realms/x',
      'http://127.10.0.1',
      'http://[::1]:9000',
    ]) {
      expect(issuesOf({ ...base, issuer }), issuer).toEqual([])
    }
    expect(issuesOf({ ...base, issuer: 'http://127.0.0.1.evil.example' })).toHaveLength(1)
  })

  it('requires the openid scope and a client secret', () => {
    expect(issuesOf({ ...base, scopes: ['profile'] })).toEqual([{ key: 'scopes', reason: 'must include "openid"' }])
    const { clientSecret: _unused, ...noSecret } = base
    expect(issuesOf(noSecret)).toEqual([
      { key: 'clientSecret', reason: 'is required for clientAuthentication client_secret_basic' },
    ])
  })

  it('resolves secrets from env and file, with a clear error when missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpki-secret-'))
    await writeFile(join(dir, 'secret'), 'from-file\n')
    const fromFile = validateProvider({ ...base, clientSecret: { file: join(dir, 'secret') } }, '/x/a.json', defaults)
    expect(fromFile.ok && fromFile.provider.options.clientSecret).toBe('from-file')
    expect(issuesOf({ ...base, clientSecret: { file: join(dir, 'missing') } })[0]).toMatchObject({
      key: 'clientSecret',
      reason: expect.stringContaining('cannot read secret file'),
    })
    expect(issuesOf({ ...base, clientSecret: { env: 'OTPKI_SURELY_UNSET' } })).toEqual([
      { key: 'clientSecret', reason: 'environment variable OTPKI_SURELY_UNSET is not set' },
    ])
    expect(issuesOf({ ...base, clientSecret: { vault: 'x' } })[0]?.key).toBe('clientSecret')
  })

  it('reports a file that is not an object or does not parse', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpki-prov-'))
    await writeFile(join(dir, 'a.json'), '[1, 2]')
    await writeFile(join(dir, 'b.json'), '{ "issuer": ')
    await writeFile(join(dir, 'c.ts'), 'export default {')
    expect(await loadProviderFile(join(dir, 'a.json'), defaults)).toMatchObject({
      ok: false,
      issues: [{ key: '(root)', reason: 'must be an object' }],
    })
    expect(await loadProviderFile(join(dir, 'b.json'), defaults)).toMatchObject({
      ok: false,
      issues: [{ key: '(file)', reason: expect.stringContaining('invalid JSON') }],
    })
    expect(await loadProviderFile(join(dir, 'c.ts'), defaults)).toMatchObject({
      ok: false,
      issues: [{ key: '(file)' }],
    })
  })
})

describe('provider options: rules between keys', () => {
  it.each([
    [{ discovery: false }, 'endpoints.authorization', 'is required when discovery is off'],
    [
      { discovery: false, endpoints: { authorization: 'https://sso.example.com/auth' } },
      'endpoints.token',
      'is required when discovery is off',
    ],
    [{ endpoints: { token: 'http://sso.example.com/token' } }, 'endpoints.token', 'must use https'],
    [{ endpoints: { tokn: 'https://sso.example.com/token' } }, 'endpoints.tokn', 'is not a known key'],
    [{ endpoints: 'https://sso.example.com' }, 'endpoints', 'must be an object'],
    [{ backchannelUrl: 'http://keycloak.internal:8080/realms/pki' }, 'backchannelUrl', 'must use https'],
    [
      { clientAuthentication: 'private_key_jwt' },
      'clientPrivateKey',
      'is required for clientAuthentication private_key_jwt',
    ],
    [
      { clientAuthentication: 'private_key_jwt', clientPrivateKey: 'not a key' },
      'clientPrivateKey',
      'must be a PEM (PKCS#8) private key or a private JWK',
    ],
    [
      { clientAuthentication: 'client_secret_jwt', clientAssertionSigningAlg: 'RS256' },
      'clientAssertionSigningAlg',
      'must be HS256, HS384 or HS512 for client_secret_jwt',
    ],
    [
      { clientAuthentication: 'none', pkce: 'off' },
      'pkce',
      'cannot be off for a public client (clientAuthentication none)',
    ],
    [{ useJwksUrl: false }, 'validatingPublicKey', 'is required when useJwksUrl is off'],
    [
      { useJwksUrl: false, validatingPublicKey: 'nope' },
      'validatingPublicKey',
      'must be a PEM public key or certificate',
    ],
    [
      { validateSignatures: false, backchannelLogout: true },
      'backchannelLogout',
      'needs validateSignatures: logout tokens arrive from outside and must be verified',
    ],
    [{ signatureAlgorithms: ['RS256', 'none'] }, 'signatureAlgorithms', 'must not include none'],
    [{ storedTokensReadable: true }, 'storedTokensReadable', 'needs storeTokens'],
    [{ prompt: 'always' }, 'prompt', 'must be one of none, login, consent, select_account'],
  ])('%j: %s %s', (extra, key, reason) => {
    expect(issuesOf({ ...base, ...extra })).toContainEqual({ key, reason: expect.stringContaining(reason) })
  })

  it('resolves the defaults of the new keys', () => {
    const result = validateProvider({ ...base, clientAuthentication: 'client_secret_jwt' }, '/x/k.json', defaults)
    expect(result.ok && result.provider).toMatchObject({
      trustEmail: false,
      accountLinkingOnly: false,
      options: {
        discovery: true,
        endpoints: {},
        clientAssertionSigningAlg: 'HS256',
        pkce: 'S256',
        validateSignatures: true,
        useJwksUrl: true,
        acceptsPromptNoneForward: false,
        storeTokens: false,
        backchannelLogout: false,
        bearerAudience: ['otpki'],
        introspectTokens: false,
      },
    })
  })

  it('warns (but accepts) pkce off and validateSignatures off', () => {
    const result = validateProvider({ ...base, pkce: 'off', validateSignatures: false }, '/x/k.json', defaults)
    expect(result.ok && result.warnings).toEqual([
      expect.stringContaining('pkce is off'),
      expect.stringContaining('validateSignatures is off'),
    ])
  })
})

describe('main configuration', () => {
  it('OTPKI_* variables override the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpki-cfg-'))
    const file = join(dir, 'otpki.config.ts')
    await writeFile(file, "export default { port: 4000, publicUrl: 'https://pki.example.com/' }\n")
    const config = await loadMainConfig(file, {
      env: { OTPKI_PORT: '5000', OTPKI_LOG_LEVEL: 'warn', OTPKI_DATABASE: '/var/lib/otpki/db.sqlite' },
    })
    expect(config).toMatchObject({
      port: 5000,
      logLevel: 'warn',
      publicUrl: 'https://pki.example.com',
      database: '/var/lib/otpki/db.sqlite',
      providersDir: join(dir, 'config/providers'),
    })
  })

  it('an unknown key or a bad variable is an error naming file and key', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'otpki-cfg-'))
    const file = join(dir, 'otpki.config.ts')
    // Keys that neither core nor a plugin's section claims are found once the plugins are registered.
    await writeFile(file, 'export default { prot: 4000 }\n')
    const error = await composeApp({ configFile: file, env: {} }).catch((e: unknown) => e)
    expect(isOtpkiError(error, 'CONFIG_INVALID') && error.message).toBe(`${file}: prot: is not a known key`)
    await writeFile(file, 'export default { clientCertificate: { enabeld: true } }\n')
    const nested = await composeApp({ configFile: file, env: {} }).catch((e: unknown) => e)
    expect(isOtpkiError(nested) && nested.message).toContain(`${file}: clientCertificate.enabeld: is not a known key`)
    // A value a plugin's section refuses names the file and key too, never the plugin's code.
    for (const [section, key] of [
      [
        'clientCertificate: { enabled: true, trustedProxies: ["10.0.0.0/33"], ingressVerifies: true }',
        'clientCertificate.trustedProxies',
      ],
      ['rateLimit: { trustedProxies: ["999.1.1.1"] }', 'rateLimit.trustedProxies'],
    ]) {
      await writeFile(file, `export default { ${section} }\n`)
      const bad = await composeApp({ configFile: file, env: {} }).catch((e: unknown) => e)
      expect(isOtpkiError(bad, 'CONFIG_INVALID') && bad.message, key).toMatch(
        new RegExp(`^${file}: ${key}: ".*" is not an IP address or CIDR$`),
      )
    }
    await writeFile(file, 'export default {}\n')
    const bad = await loadMainConfig(file, { env: { OTPKI_PORT: 'eighty' } }).catch((e: unknown) => e)
    // The variable set it: the error names the variable, not the file.
    expect(isOtpkiError(bad) && bad.message).toBe('OTPKI_PORT: must be a whole number (it sets port)')
    const fromFile = await loadMainConfig(file, { overrides: { port: 'eighty' }, env: {} }).catch((e: unknown) => e)
    expect(isOtpkiError(fromFile) && fromFile.message).toBe(`${file}: port: must be a whole number`)
    const section = await composeApp({ configFile: file, env: { OTPKI_MTLS_PORT: 'x' } }).catch((e: unknown) => e)
    expect(isOtpkiError(section) && section.message).toMatch(
      /^OTPKI_MTLS_PORT: .+ \(it sets clientCertificate\.listenPort\)$/,
    )
  })
})

describe('durations', () => {
  it('accepts seconds and ms-style strings', () => {
    expect(durationToSeconds(90)).toBe(90)
    expect(durationToSeconds('30m')).toBe(1800)
    expect(durationToSeconds('10h')).toBe(36000)
    expect(durationToSeconds('7d')).toBe(604800)
    expect(durationToSeconds('3600')).toBe(3600)
    for (const bad of [0, -5, 1.5, 'soon', '10ms', ''])
      expect(() => durationToSeconds(bad as never), String(bad)).toThrow()
  })
})

describe('forwardAuth settings', () => {
  const load = (forwardAuth: Record<string, unknown>, publicUrl = 'https://sso.example.com') =>
    loadMainConfig(undefined, { env: {}, overrides: { publicUrl, forwardAuth } })
  it('keeps publicUrl’s host allowed, and the headers named', async () => {
    const config = await load({ allowedHosts: ['App.Example.com', '*.apps.example.com'] })
    expect(config.forwardAuth.allowedHosts).toEqual(['sso.example.com', 'app.example.com', '*.apps.example.com'])
    expect(config.forwardAuth.headers.user).toBe('X-Auth-Request-User')
  })
  it.each([
    [
      { allowedHosts: ['https://app.example.com'] },
      'https://sso.example.com',
      /allowedHosts: "https:\/\/app.example.com" is not a host name/,
    ],
    [{ allowedHosts: ['*'] }, 'https://sso.example.com', /is not a host name/],
    [
      { headers: { user: 'X User' } },
      'https://sso.example.com',
      /forwardAuth.headers.user: "X User" is not a header name/,
    ],
    [{ cookieDomain: 'example.com' }, 'http://sso.example.com', /cookieDomain: needs an https publicUrl/],
    [{ cookieDomain: 'other.com' }, 'https://sso.example.com', /publicUrl's host sso.example.com is not in other.com/],
    [{ cookieDomain: 'com' }, 'https://sso.example.com', /is not a domain/],
  ])('refuses %j (publicUrl %s)', async (forwardAuth, publicUrl, message) => {
    await expect(load(forwardAuth, publicUrl)).rejects.toThrow(message)
  })
})

describe('every error of a provider file at once', () => {
  it('reports an unknown key, a bad value, and a claim path that does not parse, together', () => {
    const result = validateProvider(
      {
        issuer: 'https://sso.example.com/realms/x',
        clientId: 'otpki',
        clientSecret: 's',
        scope: ['openid'],
        clockTolerance: 'soon',
        claims: { roles: 'groups[' },
      },
      '/etc/otpki/providers/corp.json',
      providerDefaults,
    )
    expect(result.ok).toBe(false)
    expect(!result.ok && result.issues.map((i) => i.key).sort()).toEqual(['claims.roles', 'clockTolerance', 'scope'])
  })
})
