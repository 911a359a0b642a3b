import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ensureBuilt } from '../support/build.ts'
import { otpki } from '../support/cli.ts'
import { CLIENT, closeAfterEach, signIn, startHarness } from '../support/harness.ts'
import { JoseProvider } from '../support/jose-provider.ts'
import { TestBrowser } from '../support/browser.ts'

describe('otpki providers import', () => {
  const track = closeAfterEach()
  let dir: string
  let config: string
  beforeAll(async () => {
    ensureBuilt()
    dir = await mkdtemp(join(tmpdir(), 'otpki-import-'))
    await mkdir(join(dir, 'providers'))
    config = join(dir, 'otpki.config.json')
    await writeFile(config, JSON.stringify({ providersDir: 'providers', database: ':memory:' }))
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  it('from an issuer: a validated file with discovery on, its signing algorithms, and a file that signs people in', async () => {
    const jose = track(await JoseProvider.start(CLIENT.clientId, CLIENT.clientSecret))
    const out = await otpki([
      'providers',
      'import',
      jose.issuer,
      '--name',
      'corp',
      '--client-id',
      CLIENT.clientId,
      '-c',
      config,
    ])
    expect(out.code, out.stderr).toBe(0)
    expect(out.stdout.trim()).toBe(`wrote ${join(dir, 'providers', 'corp.json')}`)
    expect(out.stderr).toContain('note: the client secret is read from the environment variable CORP_CLIENT_SECRET')
    const file = JSON.parse(await readFile(join(dir, 'providers', 'corp.json'), 'utf8'))
    expect(file).toEqual({
      displayName: 'corp',
      issuer: jose.issuer,
      clientId: CLIENT.clientId,
      clientSecret: { env: 'CORP_CLIENT_SECRET' },
      signatureAlgorithms: ['RS256', 'ES256'],
    })
    // Never over an existing file, unless asked.
    const again = await otpki(['providers', 'import', jose.issuer, '--name', 'corp', '-c', config])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain('corp.json exists (--force replaces it)')

    // The file works: a server with it (and the secret in its variable) signs a user in.
    process.env.CORP_CLIENT_SECRET = CLIENT.clientSecret
    try {
      const h = track(await startHarness({ providers: () => ({ 'corp.json': JSON.stringify(file) }) }))
      expect((await signIn(new TestBrowser(), h, 'x', 'x', { provider: 'corp' })).status).toBe(200)
    } finally {
      delete process.env.CORP_CLIENT_SECRET
    }
  })

  it('from a saved metadata file: discovery off with the endpoints, the client authentication it supports, the preset it recognises', async () => {
    const tenant = 'https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0'
    const metadata = join(dir, 'entra.json')
    await writeFile(
      metadata,
      JSON.stringify({
        issuer: tenant,
        authorization_endpoint: 'https://login.microsoftonline.com/9188040d/oauth2/v2.0/authorize',
        token_endpoint: 'https://login.microsoftonline.com/9188040d/oauth2/v2.0/token',
        jwks_uri: 'https://login.microsoftonline.com/9188040d/discovery/v2.0/keys',
        end_session_endpoint: 'https://login.microsoftonline.com/9188040d/oauth2/v2.0/logout',
        userinfo_endpoint: 'https://graph.microsoft.com/oidc/userinfo',
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
        id_token_signing_alg_values_supported: ['RS256'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      }),
    )
    const out = await otpki(['providers', 'import', metadata, '--name', 'entra', '--stdout', '-c', config])
    expect(out.code, out.stderr).toBe(0)
    const file = JSON.parse(out.stdout)
    expect(file).toMatchObject({
      preset: 'entra-id',
      issuer: tenant,
      clientId: 'CHANGE-ME',
      clientAuthentication: 'client_secret_post',
      discovery: false,
      endpoints: {
        authorization: 'https://login.microsoftonline.com/9188040d/oauth2/v2.0/authorize',
        token: 'https://login.microsoftonline.com/9188040d/oauth2/v2.0/token',
        jwks: 'https://login.microsoftonline.com/9188040d/discovery/v2.0/keys',
        endSession: 'https://login.microsoftonline.com/9188040d/oauth2/v2.0/logout',
        userinfo: 'https://graph.microsoft.com/oidc/userinfo',
      },
    })
    expect(file.scopes).toBeUndefined()
    expect(out.stderr).toContain('note: the issuer is an entra-id one')
    expect(out.stderr).toContain('note: set clientId')
  })

  it('a provider that takes no client secret: private_key_jwt, with the key file to create', async () => {
    const metadata = join(dir, 'keys-only.json')
    await writeFile(
      metadata,
      JSON.stringify({
        issuer: 'https://sso.example.com/realms/keys',
        authorization_endpoint: 'https://sso.example.com/realms/keys/auth',
        token_endpoint: 'https://sso.example.com/realms/keys/token',
        jwks_uri: 'https://sso.example.com/realms/keys/certs',
        token_endpoint_auth_methods_supported: ['private_key_jwt'],
      }),
    )
    const out = await otpki(['providers', 'import', metadata, '--name', 'keys', '--stdout', '-c', config])
    expect(out.code, out.stderr).toBe(0)
    expect(JSON.parse(out.stdout)).toMatchObject({
      clientAuthentication: 'private_key_jwt',
      clientPrivateKey: { file: '/etc/otpki/keys-client-key.pem' },
    })
    expect(out.stderr).toContain('create a key pair, register its public key at the provider')
  })

  it('refuses what is not a discovery document, and says why', async () => {
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify({ hello: 'world' }))
    const out = await otpki(['providers', 'import', bad, '--name', 'bad', '-c', config])
    expect(out.code).toBe(1)
    expect(out.stderr).toContain('has no issuer: not an OpenID Connect discovery document')
    const unreachable = await otpki([
      'providers',
      'import',
      'http://127.0.0.1:1/realms/x',
      '--name',
      'gone',
      '-c',
      config,
    ])
    expect(unreachable.code).toBe(1)
    expect(unreachable.stderr).toContain(
      'cannot import http://127.0.0.1:1/realms/x: cannot read http://127.0.0.1:1/realms/x/.well-known/openid-configuration',
    )
  })
})
