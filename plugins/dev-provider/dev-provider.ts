import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportJWK, generateKeyPair } from 'jose'
import Provider, { type Configuration } from 'oidc-provider'
import { memoryAdapter } from './memory-adapter.ts'

/** A demo account of the development provider: its password and its claims. */
export interface DevUser {
  password: string
  claims: Record<string, unknown>
}

/** The two demo accounts: one OTPKI administrator, one user with no roles. */
export function demoUsers(): Record<string, DevUser> {
  return {
    admin: {
      password: 'admin',
      claims: {
        preferred_username: 'admin',
        given_name: 'Ada',
        family_name: 'Admin',
        name: 'Ada Admin',
        email: 'admin@example.test',
        email_verified: true,
        roles: ['admin'],
      },
    },
    alice: {
      password: 'alice',
      claims: {
        preferred_username: 'alice',
        given_name: 'Alice',
        family_name: 'Example',
        name: 'Alice Example',
        email: 'alice@example.test',
        email_verified: true,
        roles: [],
      },
    },
  }
}

export interface DevClient {
  clientId: string
  /** Absent for public clients and private_key_jwt. */
  clientSecret?: string
  redirectUris: string[]
  postLogoutRedirectUris: string[]
  tokenEndpointAuthMethod?:
    | 'client_secret_basic'
    | 'client_secret_post'
    | 'client_secret_jwt'
    | 'private_key_jwt'
    | 'none'
  /** Signing algorithm the provider requires of client assertions. */
  tokenEndpointAuthSigningAlg?: string
  /** Public keys for private_key_jwt. */
  jwks?: { keys: Record<string, unknown>[] }
  /** Where the provider sends back-channel logout tokens. */
  backchannelLogoutUri?: string
}

export interface DevProviderOptions {
  /** Port to listen on (0: any free port). */
  port: number
  host?: string
  clients: DevClient[]
  /** Accounts by login name; edited in place by tests to change claims. */
  users?: Record<string, DevUser>
  /** Offer RP-initiated logout (an end-session endpoint). Default true. */
  endSession?: boolean
  /** Offer token introspection (RFC 7662). Default true. */
  introspection?: boolean
  /** Host name in the issuer URL when it differs from where it listens (a public name behind a proxy). */
  issuerHost?: string
  /** More claims released with the profile scope (an account's claims are released only when a scope names them). */
  extraClaims?: string[]
}

export interface DevProvider {
  readonly issuer: string
  readonly users: Record<string, DevUser>
  close(): Promise<void>
}

const page = (title: string, body: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
*{box-sizing:border-box}body{font:16px/1.5 system-ui,sans-serif;background:#f3f4f6;color:#111827;display:grid;place-items:center;min-height:100vh;margin:0}
main{background:#fff;padding:1.5rem;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.15);width:min(24rem,92vw);overflow-wrap:break-word}
h1{font-size:1.25rem;margin:0 0 .25rem}p.note{color:#6b7280;font-size:.9rem}
label{display:block;margin-top:1rem;font-weight:600}input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #d1d5db;border-radius:6px;font:inherit}
button{margin-top:1.25rem;width:100%;padding:.6rem;border:0;border-radius:6px;background:#7c3aed;color:#fff;font:inherit;font-weight:600;cursor:pointer}
.error{color:#b91c1c}code{background:#f3f4f6;padding:0 .25rem;border-radius:4px}
</style></head><body><main>${body}</main></body></html>`

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > 16_384) throw new Error('form too large')
    chunks.push(chunk as Buffer)
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'))
}

function loginForm(uid: string, users: Record<string, DevUser>, error?: string): string {
  const accounts = Object.keys(users)
    .map((name) => `<code>${escapeHtml(name)}</code> / <code>${escapeHtml(users[name]!.password)}</code>`)
    .join(', ')
  return page(
    'Development provider: sign in',
    `<h1>Development provider</h1>
<p class="note">For development only. Demo accounts: ${accounts}.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>`,
  )
}

/**
 * Starts an OpenID provider (oidc-provider) with a login form and demo
 * accounts, for development and tests. Never for production.
 */
export async function startDevProvider(options: DevProviderOptions): Promise<DevProvider> {
  const users = options.users ?? demoUsers()
  const host = options.host ?? 'localhost'
  const server: Server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, host === 'localhost' ? '127.0.0.1' : host, () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const issuer = `http://${options.issuerHost ?? host}:${port}`

  const { privateKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(privateKey)), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' }

  const configuration: Configuration = {
    adapter: memoryAdapter(),
    clients: options.clients.map((c) => ({
      client_id: c.clientId,
      ...(c.clientSecret ? { client_secret: c.clientSecret } : {}),
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris,
      token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? 'client_secret_basic',
      ...(c.tokenEndpointAuthSigningAlg
        ? { token_endpoint_auth_signing_alg: c.tokenEndpointAuthSigningAlg as never }
        : {}),
      ...(c.jwks ? { jwks: c.jwks as never } : {}),
      ...(c.backchannelLogoutUri
        ? { backchannel_logout_uri: c.backchannelLogoutUri, backchannel_logout_session_required: true }
        : {}),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    jwks: { keys: [jwk as never] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      profile: [
        'preferred_username',
        'given_name',
        'family_name',
        'name',
        'department',
        'office',
        'groups',
        'isAdmin',
        ...(options.extraClaims ?? []),
      ],
      email: ['email', 'email_verified'],
      roles: ['roles'],
    },
    scopes: ['openid', 'profile', 'email', 'roles'],
    pkce: { required: () => true },
    // oidc-provider refuses outbound calls to special-use addresses (SSRF protection); the
    // development provider's relying party (OTPKI) runs on loopback, so back-channel logout
    // calls must reach it there.
    fetch: (url, options) => {
      const { dispatcher: _ssrfGuard, ...rest } = options as RequestInit & { dispatcher?: unknown }
      return globalThis.fetch(url, rest)
    },
    enabledJWA: {
      clientAuthSigningAlgValues: [
        'HS256',
        'HS384',
        'HS512',
        'RS256',
        'RS384',
        'RS512',
        'PS256',
        'PS384',
        'PS512',
        'ES256',
        'ES384',
        'ES512',
        'EdDSA',
      ],
    },
    ttl: {
      Interaction: 600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
      AccessToken: 3600,
      IdToken: 3600,
      RefreshToken: 8 * 3600,
    },
    features: {
      devInteractions: { enabled: false },
      introspection: { enabled: options.introspection ?? true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: options.endSession ?? true,
        logoutSource: async (ctx, form) => {
          ctx.body = page(
            'Development provider: sign out',
            `<h1>Sign out of the development provider?</h1>${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
          )
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, id) => {
      const user = users[id]
      if (!user) return undefined
      return { accountId: id, claims: () => ({ sub: id, ...users[id]!.claims }) }
    },
    renderError: async (ctx, out) => {
      ctx.type = 'html'
      ctx.body = page(
        'Development provider: error',
        `<h1>Error</h1><p class="error">${escapeHtml(String(out.error))}: ${escapeHtml(String(out.error_description ?? ''))}</p>`,
      )
    },
  }
  const provider = new Provider(issuer, configuration)
  provider.on('server_error', (_ctx, error) => console.error('development provider error', error))
  provider.on('backchannel.error', (_ctx, error, client) =>
    console.error(`development provider: back-channel logout to ${client.clientId} failed:`, error),
  )
  const oidc = provider.callback()

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(req.url ?? '')
    if (!match) return void oidc(req, res)
    void handleInteraction(provider, users, req, res, match[1]!, Boolean(match[2])).catch((error: unknown) => {
      res.statusCode = 400
      res.setHeader('content-type', 'text/html; charset=utf-8')
      res.end(
        page(
          'Development provider: error',
          `<h1>Sign-in expired</h1><p class="error">${escapeHtml(error instanceof Error ? error.message : String(error))}</p>`,
        ),
      )
    })
  })

  return {
    issuer,
    users,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

async function handleInteraction(
  provider: Provider,
  users: Record<string, DevUser>,
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  isLogin: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res)
  if (isLogin && req.method === 'POST') {
    const form = await readForm(req)
    const username = form.get('username') ?? ''
    const user = users[username]
    if (!user || user.password !== form.get('password')) {
      res.statusCode = 401
      res.setHeader('content-type', 'text/html; charset=utf-8')
      return void res.end(loginForm(uid, users, 'Unknown username or wrong password.'))
    }
    return provider.interactionFinished(
      req,
      res,
      { login: { accountId: username } },
      { mergeWithLastSubmission: false },
    )
  }
  if (details.prompt.name === 'login') {
    res.setHeader('content-type', 'text/html; charset=utf-8')
    return void res.end(loginForm(uid, users))
  }
  // Consent: the development provider grants what OTPKI asks for.
  const accountId = details.session!.accountId
  const grant = details.grantId
    ? (await provider.Grant.find(details.grantId))!
    : new provider.Grant({ accountId, clientId: details.params.client_id as string })
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] }
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims)
  const grantId = await grant.save()
  return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true })
}
