import { createHash, createPublicKey, randomBytes, randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { CLIENT, startHarness, type Harness, type HarnessOptions } from './harness.ts'
import { SignJWT, exportJWK, generateKeyPair, type JWK, type JWTPayload, type CryptoKey } from 'jose'

export interface SigningKey {
  kid: string
  alg: string
  privateKey: CryptoKey
  publicJwk: JWK
}

export async function newKey(alg = 'RS256', kid = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

/** How the provider behaves; tests change it between requests. */
export interface JoseProviderBehaviour {
  /** The issuer its discovery document claims (default: its own URL). */
  discoveryIssuer?: string
  /** Claims of the user the authorization endpoint signs in at once. */
  claims: Record<string, unknown>
  /** Sign ID tokens with this key instead of the published one. */
  idTokenKey?: SigningKey
  /** Claims of the ID token over the usual ones; `undefined` removes a claim. */
  idTokenClaims?: Record<string, unknown>
  /** How the ID token is signed: `none` (unsecured), `hs256-public-key` (HMAC keyed with the public key's PEM text), `no-kid`. */
  idTokenSigning?: 'none' | 'hs256-public-key' | 'no-kid'
  /** Userinfo claims over `claims`. */
  userinfoClaims?: Record<string, unknown>
  /** The token response has no ID token. */
  omitIdToken?: boolean
  /** The `iss` authorization response parameter: another value, or null for none. */
  issParam?: string | null
  /** Publish an end-session endpoint (`/logout`); answer it with this status (200 by default). */
  endSession?: { status?: number }
  /** The token endpoint refuses every request with this answer. */
  tokenRefusal?: { status: number; body: unknown; headers?: Record<string, string> }
  /** Compare client_secret_basic credentials as sent, without form-decoding them (as some providers do). */
  basicWithoutDecoding?: boolean
  /** Keys of its discovery document over the usual ones. */
  discovery?: Record<string, unknown>
  /** RFC 7662 answers by token: what the introspection endpoint says of each (unknown tokens are inactive). */
  introspection?: Map<string, Record<string, unknown>>
}

/**
 * An OpenID provider built with jose and node:http, for tests that need
 * behaviour oidc-provider will not produce: a discovery issuer that lies,
 * tokens signed with unpublished keys, key rotation, access tokens minted on
 * demand. The authorization endpoint signs the configured user in at once.
 */
export class JoseProvider {
  readonly keys: SigningKey[] = []
  jwksFetches = 0
  introspections = 0
  discoveryFetches = 0
  /** Requests to the end-session endpoint: method, Authorization header, parameters. */
  readonly logouts: { method: string; authorization: string | undefined; params: URLSearchParams }[] = []
  /** The parameters of the last authorization request (scope, prompt, ...). */
  lastAuthorization: URLSearchParams | undefined
  behaviour: JoseProviderBehaviour = {
    claims: { sub: 'jose-user', preferred_username: 'jose-user', given_name: 'Jo', family_name: 'Se' },
  }
  private server!: Server
  private codes = new Map<string, { nonce: string; challenge: string | undefined; clientId: string }>()
  issuer = ''

  static async start(clientId: string, clientSecret: string): Promise<JoseProvider> {
    const p = new JoseProvider(clientId, clientSecret)
    p.keys.push(await newKey())
    p.server = createServer(
      (req, res) => void p.handle(req, res).catch((e: unknown) => p.send(res, 500, { error: String(e) })),
    )
    await new Promise<void>((resolve) => p.server.listen(0, '127.0.0.1', () => resolve()))
    p.issuer = `http://127.0.0.1:${(p.server.address() as AddressInfo).port}`
    return p
  }

  private constructor(
    readonly clientId: string,
    private readonly clientSecret: string,
  ) {}

  /** Publishes a new key and signs with it from now on; the old key stays published. */
  async rotate(alg = 'RS256'): Promise<SigningKey> {
    const key = await newKey(alg)
    this.keys.unshift(key)
    return key
  }

  /** Signs a JWT with the current key (or the one given). */
  async sign(
    payload: JWTPayload,
    options: { key?: SigningKey; typ?: string; kid?: string | null } = {},
  ): Promise<string> {
    const key = options.key ?? this.keys[0]!
    const kid = options.kid === null ? undefined : (options.kid ?? key.kid)
    return new SignJWT(payload)
      .setProtectedHeader({ alg: key.alg, ...(kid ? { kid } : {}), ...(options.typ ? { typ: options.typ } : {}) })
      .sign(key.privateKey)
  }

  /** An RFC 9068 access token for `audience`, valid `seconds`. */
  accessToken(
    audience: string,
    claims: Record<string, unknown> = {},
    seconds = 300,
    options: { key?: SigningKey; kid?: string | null } = {},
  ): Promise<string> {
    const now = Math.floor(Date.now() / 1000)
    return this.sign(
      {
        iss: this.issuer,
        sub: String(this.behaviour.claims.sub),
        aud: audience,
        client_id: this.clientId,
        scope: 'openid profile',
        iat: now,
        exp: now + seconds,
        jti: randomUUID(),
        ...claims,
      },
      { typ: 'at+jwt', ...options },
    )
  }

  private async signIdToken(claims: JWTPayload): Promise<string> {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    switch (this.behaviour.idTokenSigning) {
      case 'none':
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`
      case 'hs256-public-key': {
        const pem = createPublicKey({ key: this.keys[0]!.publicJwk as never, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString()
        return new SignJWT(claims)
          .setProtectedHeader({ alg: 'HS256', kid: this.keys[0]!.kid })
          .sign(new TextEncoder().encode(pem))
      }
      case 'no-kid':
        return this.sign(claims, { kid: null })
      default:
        return this.sign(claims, this.behaviour.idTokenKey ? { key: this.behaviour.idTokenKey } : {})
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers })
    res.end(JSON.stringify(body))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.issuer)
    switch (url.pathname) {
      case '/.well-known/openid-configuration':
        this.discoveryFetches += 1
        return this.send(res, 200, {
          issuer: this.behaviour.discoveryIssuer ?? this.issuer,
          authorization_endpoint: `${this.issuer}/authorize`,
          token_endpoint: `${this.issuer}/token`,
          userinfo_endpoint: `${this.issuer}/userinfo`,
          ...(this.behaviour.endSession ? { end_session_endpoint: `${this.issuer}/logout` } : {}),
          jwks_uri: `${this.issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256', 'ES256'],
          authorization_response_iss_parameter_supported: true,
          code_challenge_methods_supported: ['S256'],
          introspection_endpoint: `${this.issuer}/introspect`,
          ...this.behaviour.discovery,
        })
      case '/jwks':
        this.jwksFetches += 1
        return this.send(res, 200, { keys: this.keys.map((k) => k.publicJwk) })
      case '/authorize': {
        this.lastAuthorization = url.searchParams
        const code = randomBytes(16).toString('base64url')
        this.codes.set(code, {
          nonce: url.searchParams.get('nonce') ?? '',
          challenge: url.searchParams.get('code_challenge') ?? undefined,
          clientId: url.searchParams.get('client_id') ?? '',
        })
        const back = new URL(url.searchParams.get('redirect_uri')!)
        back.searchParams.set('code', code)
        back.searchParams.set('state', url.searchParams.get('state') ?? '')
        const iss = this.behaviour.issParam === undefined ? this.issuer : this.behaviour.issParam
        if (iss !== null) back.searchParams.set('iss', iss)
        res.writeHead(302, { location: back.href })
        return void res.end()
      }
      case '/logout': {
        const params = req.method === 'POST' ? new URLSearchParams(await readBody(req)) : url.searchParams
        this.logouts.push({ method: req.method ?? 'GET', authorization: req.headers.authorization, params })
        return this.send(res, this.behaviour.endSession?.status ?? 200, {})
      }
      case '/token': {
        const body = new URLSearchParams(await readBody(req))
        const refusal = this.behaviour.tokenRefusal
        if (refusal) return this.send(res, refusal.status, refusal.body, refusal.headers)
        // client_secret_basic: both parts form-urlencoded (RFC 6749 2.3.1).
        const [id, secret] = Buffer.from((req.headers.authorization ?? '').replace(/^Basic /, ''), 'base64')
          .toString()
          .split(':')
          .map((p) => (this.behaviour.basicWithoutDecoding ? p : decodeURIComponent(p.replace(/\+/g, ' '))))
        if (id !== this.clientId || secret !== this.clientSecret)
          return this.send(res, 401, { error: 'invalid_client' })
        const grant = this.codes.get(body.get('code') ?? '')
        this.codes.delete(body.get('code') ?? '')
        if (!grant) return this.send(res, 400, { error: 'invalid_grant' })
        if (grant.challenge) {
          const computed = createHash('sha256')
            .update(body.get('code_verifier') ?? '')
            .digest('base64url')
          if (computed !== grant.challenge)
            return this.send(res, 400, { error: 'invalid_grant', error_description: 'PKCE' })
        }
        const now = Math.floor(Date.now() / 1000)
        const claims = Object.fromEntries(
          Object.entries({
            iss: this.issuer,
            aud: this.clientId,
            iat: now,
            exp: now + 300,
            nonce: grant.nonce,
            ...this.behaviour.claims,
            ...this.behaviour.idTokenClaims,
          }).filter(([, v]) => v !== undefined),
        )
        const idToken = await this.signIdToken(claims)
        const answer: Record<string, unknown> = {
          access_token: await this.accessToken(this.clientId),
          token_type: 'Bearer',
          expires_in: 300,
        }
        if (!this.behaviour.omitIdToken) answer.id_token = idToken
        return this.send(res, 200, answer)
      }
      case '/introspect': {
        this.introspections += 1
        const token = new URLSearchParams(await readBody(req)).get('token') ?? ''
        return this.send(res, 200, this.behaviour.introspection?.get(token) ?? { active: false })
      }
      case '/userinfo':
        return this.send(res, 200, { ...this.behaviour.claims, ...this.behaviour.userinfoClaims })
      default:
        return this.send(res, 404, { error: 'not_found' })
    }
  }
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * A jose provider and an OTPKI harness with one provider file for it
 * (`jose.json` unless `file` names another), closed after the test by `track`.
 *
 * @example
 * const { jose, h } = await joseHarness(track, { signOutByServerRequest: true })
 */
export async function joseHarness(
  track: <T extends { close(): Promise<void> }>(server: T) => T,
  keys: Record<string, unknown> = {},
  options: {
    clientId?: string
    clientSecret?: string
    file?: string
    /** How the provider behaves from the start (its discovery document is read when OTPKI starts). */
    behaviour?: Partial<JoseProviderBehaviour>
    harness?: HarnessOptions
  } = {},
): Promise<{ jose: JoseProvider; h: Harness }> {
  const clientId = options.clientId ?? CLIENT.clientId
  const clientSecret = options.clientSecret ?? CLIENT.clientSecret
  const jose = track(await JoseProvider.start(clientId, clientSecret))
  jose.behaviour = { ...jose.behaviour, ...options.behaviour }
  const h = track(
    await startHarness({
      ...options.harness,
      providers: () => ({
        [options.file ?? 'jose.json']: JSON.stringify({ issuer: jose.issuer, clientId, clientSecret, ...keys }),
      }),
    }),
  )
  return { jose, h }
}
