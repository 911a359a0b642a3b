import * as client from 'openid-client'
import type { JWTPayload } from 'jose'
import {
  OtpkiError,
  describeNetworkFailure,
  type AuthMethod,
  type FinishResult,
  type Claims,
  type Clock,
  type ProviderTokens,
} from '../../core/index.ts'
import { HTTP_TIMEOUT_SECONDS, providerFetch, publicUrlFor } from './backchannel-fetch.ts'
import { clientAuthentication } from './client-auth.ts'
import { importOidcProvider } from './import.ts'
import { checkTimingClaims } from './timing.ts'
import { tokenVerifier, type TokenVerifier } from './token-verifier.ts'
import {
  MULTI_TENANT_ENTRA,
  oidcOptionFields,
  resolveOidcOptions,
  type OidcOptions,
  type OidcProvider,
} from './options.ts'

/** What the OIDC method keeps per provider and configuration generation. */
export interface OidcContext {
  readonly config: client.Configuration
  readonly verifier: TokenVerifier | undefined
  readonly clock: Clock
  /** The issuers its tokens may name: the provider's, or each allowed tenant's of a multi-tenant Entra ID issuer. */
  readonly issuers: readonly string[]
  /** A multi-tenant issuer's template (`https://login.microsoftonline.com/{tenantid}/v2.0`). */
  readonly tenantTemplate?: string
}

/** The tenant's issuer a multi-tenant provider's token names, when its `tid` agrees and the tenant is allowed. */
function tenantIssuer(context: OidcContext, claims: JWTPayload, provider: OidcProvider): string | undefined {
  if (!context.tenantTemplate) return undefined
  const tid = typeof claims.tid === 'string' ? claims.tid : ''
  const issuer = context.tenantTemplate.replace('{tenantid}', tid)
  if (tid === '' || claims.iss !== issuer || !context.issuers.includes(issuer)) {
    throw new OtpkiError(
      'CLAIM_INVALID',
      `${provider.name}: tenant ${JSON.stringify(tid.slice(0, 64))} (iss ${String(claims.iss).slice(0, 120)}) is not one of tenants`,
      { publicMessage: 'Accounts of your organization cannot sign in here. Please contact an administrator.' },
    )
  }
  return issuer
}

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout'

/** Errors of a silent sign-in (`prompt=none`) that go back to returnTo instead of a page. */
const SILENT_ERRORS = new Set([
  'login_required',
  'consent_required',
  'interaction_required',
  'account_selection_required',
])

/** The server metadata: discovered (optionally overridden by `endpoints`) or given by hand. */
async function serverMetadata(
  provider: OidcProvider,
  fetchImpl: typeof fetch,
  insecure: boolean,
): Promise<client.ServerMetadata> {
  const e = provider.options.endpoints
  const overrides: Partial<client.ServerMetadata> = {
    ...(e.authorization ? { authorization_endpoint: e.authorization } : {}),
    ...(e.token ? { token_endpoint: e.token } : {}),
    ...(e.userinfo ? { userinfo_endpoint: e.userinfo } : {}),
    ...(e.endSession ? { end_session_endpoint: e.endSession } : {}),
    ...(e.jwks ? { jwks_uri: e.jwks } : {}),
    ...(e.introspection ? { introspection_endpoint: e.introspection } : {}),
  }
  if (!provider.options.discovery) return { issuer: provider.issuer, ...overrides }
  const discoveryUrl = `${provider.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  const discovered = await client
    .discovery(new URL(provider.issuer), provider.options.clientId, undefined, undefined, {
      timeout: HTTP_TIMEOUT_SECONDS,
      [client.customFetch]: fetchImpl,
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
    })
    .catch((cause: unknown) => {
      // What failed, and where: connection refused at ..., name not resolved, TLS, time-out, HTTP status.
      throw new Error(`discovery at ${discoveryUrl} failed: ${describeNetworkFailure(cause, discoveryUrl)}`, { cause })
    })
  const { supportsPKCE: _helper, ...discoveredMetadata } = discovered.serverMetadata()
  const metadata: client.ServerMetadata = { ...discoveredMetadata, ...overrides }
  // Endpoints the browser opens are public, even when discovery went through the internal URL.
  return {
    ...metadata,
    authorization_endpoint: publicUrlFor(provider, metadata.authorization_endpoint),
    end_session_endpoint: publicUrlFor(provider, metadata.end_session_endpoint),
  }
}

function tokensOf(response: client.TokenEndpointResponse, now: number): ProviderTokens {
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token,
    idToken: response.id_token,
    expiresAt: response.expires_in !== undefined ? now + response.expires_in * 1000 : undefined,
    scope: response.scope,
  }
}

/**
 * OpenID Connect relying party: authorization code flow with PKCE, state,
 * nonce and the RFC 9207 `iss` check (openid-client); signatures verified
 * with the provider's keys (jose); RP-initiated and back-channel logout;
 * bearer access tokens as JWTs or by introspection.
 */
export const oidcAuthMethod: AuthMethod<OidcContext, OidcOptions, typeof oidcOptionFields> = {
  strategy: 'oidc',
  isDefault: true,
  optionsSchema: oidcOptionFields,
  resolveOptions: resolveOidcOptions,
  issuerOf: (options) => options.issuer,
  describe: (o) => ({
    clientId: o.clientId,
    issuer: o.issuer,
    discovery: o.discovery ? (Object.keys(o.endpoints).length > 0 ? 'auto+overrides' : 'auto') : 'manual',
    redirectUrl: o.redirectUrl,
  }),
  importProvider: importOidcProvider,

  async initialize(provider, io) {
    const fetchImpl = providerFetch(provider)
    const insecure = [provider.issuer, provider.options.backchannelUrl].some((u) => u?.startsWith('http:'))
    const clientMetadata = {
      redirect_uris: [provider.options.redirectUrl],
      response_types: ['code'],
      [client.clockTolerance]: provider.options.clockTolerance,
    }
    let config: client.Configuration
    let tenantTemplate: string | undefined
    if (MULTI_TENANT_ENTRA.test(provider.issuer)) {
      // Entra's discovery names the issuer template; openid-client checks each ID token's iss against it, with its tid.
      const discoveryUrl = `${provider.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
      config = await client
        .discovery(
          new URL(provider.issuer),
          provider.options.clientId,
          clientMetadata,
          clientAuthentication(provider),
          {
            timeout: HTTP_TIMEOUT_SECONDS,
            [client.customFetch]: fetchImpl,
            ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
          },
        )
        .catch((cause: unknown) => {
          throw new Error(`discovery at ${discoveryUrl} failed: ${describeNetworkFailure(cause, discoveryUrl)}`, {
            cause,
          })
        })
      tenantTemplate = config.serverMetadata().issuer
      if (!tenantTemplate.includes('{tenantid}'))
        throw new Error(`discovery at ${discoveryUrl} names the issuer ${tenantTemplate}, not a {tenantid} template`)
    } else {
      const metadata = await serverMetadata(provider, fetchImpl, insecure)
      config = new client.Configuration(
        metadata,
        provider.options.clientId,
        clientMetadata,
        clientAuthentication(provider),
      )
      config[client.customFetch] = fetchImpl
      config.timeout = HTTP_TIMEOUT_SECONDS
      if (insecure) client.allowInsecureRequests(config)
    }
    const metadata = config.serverMetadata()
    const issuers = tenantTemplate
      ? provider.options.tenants.map((tenant) => tenantTemplate.replace('{tenantid}', tenant))
      : [provider.issuer]
    let verifier: TokenVerifier | undefined
    if (provider.options.validateSignatures || provider.options.backchannelLogout) {
      verifier = tokenVerifier(
        provider,
        metadata.jwks_uri,
        metadata.id_token_signing_alg_values_supported,
        fetchImpl,
        io.clock,
      )
      await verifier.load()
    }
    if (!provider.options.validateSignatures)
      io.logger.warn({ provider: provider.name }, 'ID token signatures are not verified (validateSignatures: false)')
    return { config, verifier, clock: io.clock, issuers, ...(tenantTemplate ? { tenantTemplate } : {}) }
  },

  forwardsSilentSignIn: (provider) => provider.options.acceptsPromptNoneForward,

  async start({ config }, provider, options = {}) {
    const state = client.randomState()
    const nonce = client.randomNonce()
    const codeVerifier = provider.options.pkce === 'S256' ? client.randomPKCECodeVerifier() : undefined
    const prompt = options.prompt ?? provider.options.prompt
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: provider.options.redirectUrl,
      scope: provider.options.scopes.join(' '),
      state,
      nonce,
      ...(codeVerifier
        ? { code_challenge: await client.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256' }
        : {}),
      ...(prompt ? { prompt } : {}),
    })
    return { url, data: { state, nonce, ...(codeVerifier ? { codeVerifier } : {}) } }
  },

  async finish(context, provider, request, { data, prompt }): Promise<FinishResult> {
    const { config, verifier, clock } = context
    // An authorization response comes in the query, or (response_mode=form_post) in the form.
    const params = request.form ?? request.query
    // A silent sign-in the provider could not complete goes back to returnTo (when the state is ours).
    const error = params.get('error')
    if (prompt === 'none' && error && SILENT_ERRORS.has(error) && params.get('state') === data.state)
      return { silentError: error }
    // The redirect URI is the configured one; only the parameters come from the request.
    const callbackUrl = new URL(provider.options.redirectUrl)
    callbackUrl.search = params.toString()
    let response: Awaited<ReturnType<typeof client.authorizationCodeGrant>>
    try {
      response = await client.authorizationCodeGrant(config, callbackUrl, {
        ...(data.codeVerifier ? { pkceCodeVerifier: data.codeVerifier } : {}),
        expectedState: data.state!,
        expectedNonce: data.nonce!,
        idTokenExpected: true,
      })
    } catch (cause) {
      throw asOtpkiError(cause, provider)
    }
    const idTokenClaims = response.claims() as Claims | undefined
    if (!idTokenClaims || !response.id_token) throw invalid(provider, 'token response without an ID token')
    try {
      checkTimingClaims(idTokenClaims, clock.now(), provider.options.clockTolerance)
    } catch (cause) {
      throw invalid(provider, `ID token: ${(cause as Error).message}`, cause)
    }
    const issuer = tenantIssuer(context, idTokenClaims, provider)
    if (provider.options.validateSignatures) {
      try {
        await verifier!.verify(response.id_token, {
          issuer: issuer ?? provider.issuer,
          audience: provider.options.clientId,
        })
      } catch (cause) {
        throw invalid(provider, `ID token signature: ${(cause as Error).message}`, cause)
      }
    }
    let userinfo: Claims | undefined
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        userinfo = (await client.fetchUserInfo(config, response.access_token, idTokenClaims.sub as string)) as Claims
      } catch (cause) {
        throw asOtpkiError(cause, provider)
      }
    }
    // Userinfo is fresher for profile claims; identity claims stay the ID token's.
    const claims: Claims = {
      ...idTokenClaims,
      ...userinfo,
      iss: idTokenClaims.iss,
      sub: idTokenClaims.sub,
      aud: idTokenClaims.aud,
    }
    return {
      result: {
        claims,
        idTokenClaims,
        userinfo,
        ...(issuer ? { issuer } : {}),
        idToken: response.id_token,
        sid: typeof idTokenClaims.sid === 'string' ? idTokenClaims.sid : undefined,
        tokens: provider.options.storeTokens ? tokensOf(response, clock.now()) : undefined,
      },
    }
  },

  counters({ verifier }) {
    const remote = verifier?.remote
    return remote ? { keySetFetches: remote.fetches, keySetFetchErrors: remote.fetchErrors } : {}
  },

  async signOutByServer({ config }, provider, idToken) {
    if (!provider.options.signOutByServerRequest) return false
    const metadata = config.serverMetadata()
    const endpoint = metadata.end_session_endpoint
    if (!endpoint) throw new Error('the provider publishes no end_session_endpoint')
    const body = new URLSearchParams({ client_id: provider.options.clientId })
    if (idToken) body.set('id_token_hint', idToken)
    const headers = new Headers({ 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' })
    // The client authentication of the token endpoint, for providers that need it here too.
    await clientAuthentication(provider)(metadata, config.clientMetadata(), body, headers)
    let response: Response
    try {
      response = await providerFetch(provider)(endpoint, { method: 'POST', body, headers, redirect: 'manual' })
    } catch (cause) {
      throw new Error(`end-session request to ${endpoint} failed: ${describeNetworkFailure(cause, endpoint)}`, {
        cause,
      })
    }
    await response.body?.cancel()
    if (response.status >= 400)
      throw new Error(
        `the end-session endpoint ${endpoint} answered HTTP ${response.status} ${response.statusText}`.trim(),
      )
    return true
  },

  signOutUrl({ config }, provider, idToken) {
    if (!config.serverMetadata().end_session_endpoint) return undefined
    return client.buildEndSessionUrl(config, {
      client_id: provider.options.clientId,
      post_logout_redirect_uri: provider.options.postLogoutUrl,
      state: client.randomState(),
      ...(idToken ? { id_token_hint: idToken } : {}),
    })
  },

  async verifyLogoutToken({ verifier, clock, issuers }, provider, token) {
    if (!verifier) throw new Error('no keys to verify logout tokens with')
    const { payload, protectedHeader } = await verifier.verify(token, {
      issuer: [...issuers],
      audience: provider.options.clientId,
      requiredClaims: ['iat', 'exp', 'jti'],
      maxTokenAge: '10m',
    })
    checkTimingClaims(payload, clock.now(), provider.options.clockTolerance)
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 255)
      throw new Error('jti must be a string of 1 to 255 characters')
    const typ = protectedHeader.typ?.toLowerCase()
    if (typ !== undefined && typ !== 'logout+jwt' && typ !== 'application/logout+jwt')
      throw new Error(`typ ${typ} is not logout+jwt`)
    const events = payload.events as Record<string, unknown> | undefined
    if (
      !events ||
      typeof events !== 'object' ||
      typeof events[LOGOUT_EVENT] !== 'object' ||
      events[LOGOUT_EVENT] === null
    ) {
      throw new Error('events does not hold the back-channel logout event')
    }
    if ('nonce' in payload) throw new Error('a logout token must not have a nonce')
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined
    if (!sub && !sid) throw new Error('a logout token needs sub or sid')
    return { sub, sid, jti: payload.jti, expiresAt: (payload.exp! + provider.options.clockTolerance) * 1000 }
  },

  async verifyAccessToken(context, provider, token) {
    const { config, verifier, clock } = context
    if (looksLikeJwt(token)) {
      if (!verifier || !provider.options.validateSignatures) return undefined
      const { payload } = await verifier.verify(token, {
        issuer: [...context.issuers],
        audience: [...provider.options.bearerAudience],
        requiredClaims: ['exp', 'sub'],
      })
      if (isIdToken(payload)) throw new Error('an ID token is not an access token')
      checkTimingClaims(payload, clock.now(), provider.options.clockTolerance)
      const issuer = tenantIssuer(context, payload, provider)
      return { claims: payload as Claims, expiresAt: payload.exp! * 1000, ...(issuer ? { issuer } : {}) }
    }
    if (!provider.options.introspectTokens) return undefined
    if (!config.serverMetadata().introspection_endpoint) throw new Error('the provider has no introspection endpoint')
    const result = await client.tokenIntrospection(config, token)
    checkIntrospection(result, provider, clock.now())
    return {
      claims: { ...result, iss: provider.issuer } as Claims,
      expiresAt: result.exp! * 1000,
      reuseUntil: clock.now() + provider.options.introspectionCacheTtl * 1000,
    }
  },

  async refresh({ config, clock }, provider, refreshToken) {
    try {
      return tokensOf(await client.refreshTokenGrant(config, refreshToken), clock.now())
    } catch (cause) {
      throw asOtpkiError(cause, provider)
    }
  },
}

/**
 * An introspection answer counts only for an active access token issued to
 * OTPKI: `client_id` is our client, or `aud` holds one of `bearerAudience`;
 * `token_type` (or Keycloak's `typ`) says Bearer. Refresh tokens, ID tokens and
 * tokens of other clients are refused.
 */
export function checkIntrospection(result: client.IntrospectionResponse, provider: OidcProvider, nowMs: number): void {
  if (result.active !== true) throw new Error('the token is not active')
  if (result.iss !== undefined && result.iss !== provider.issuer)
    throw new Error('the introspected token is from another issuer')
  if (typeof result.sub !== 'string' || result.sub === '' || typeof result.exp !== 'number')
    throw new Error('introspection returned no sub or exp')
  const audiences = typeof result.aud === 'string' ? [result.aud] : Array.isArray(result.aud) ? result.aud : []
  const ours =
    result.client_id === provider.options.clientId || audiences.some((a) => provider.options.bearerAudience.includes(a))
  if (!ours)
    throw new Error(
      `the token was issued to another client (client_id ${JSON.stringify(String(result.client_id ?? '').slice(0, 80))})`,
    )
  const tokenType = typeof result.token_type === 'string' ? result.token_type.toLowerCase() : undefined
  const typ = typeof result.typ === 'string' ? result.typ.toLowerCase() : undefined
  const bearer = tokenType === 'bearer' || (tokenType === undefined && typ === 'bearer')
  if (!bearer || (typ !== undefined && typ !== 'bearer' && typ !== 'at+jwt')) {
    throw new Error(
      `the token is not an access token (token_type ${String(result.token_type ?? 'absent')}${typ ? `, typ ${typ}` : ''})`,
    )
  }
  checkTimingClaims(result as JWTPayload, nowMs, provider.options.clockTolerance)
}

function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]*$/.test(token)
}

/** ID tokens carry a nonce or token hashes, or say so; access tokens carry a scope or client_id (RFC 9068). */
function isIdToken(payload: JWTPayload): boolean {
  if ('nonce' in payload || 'at_hash' in payload || 'c_hash' in payload || payload.typ === 'ID') return true
  return !('scope' in payload) && !('client_id' in payload) && !('scp' in payload)
}

function invalid(provider: OidcProvider, reason: string, cause?: unknown): OtpkiError {
  return new OtpkiError('AUTH_RESPONSE_INVALID', `response from ${provider.name} refused: ${reason}`, {
    publicMessage: `The answer from ${provider.displayName} could not be verified. Please sign in again.`,
    cause,
  })
}

function asOtpkiError(cause: unknown, provider: OidcProvider): OtpkiError {
  if (cause instanceof OtpkiError) return cause
  if (cause instanceof client.AuthorizationResponseError) {
    return new OtpkiError(
      'AUTH_PROVIDER_ERROR',
      `provider returned ${cause.error}: ${cause.error_description ?? ''}`.trim(),
      {
        publicMessage: `${provider.displayName} did not complete the sign-in (${cause.error}). Please try again.`,
        cause,
      },
    )
  }
  if (cause instanceof client.ResponseBodyError) {
    return invalid(
      provider,
      `the provider answered ${cause.status} ${cause.error}${cause.error_description ? `: ${cause.error_description}` : ''}`,
      cause,
    )
  }
  if (cause instanceof client.WWWAuthenticateChallengeError) {
    // A 401 with an authentication challenge (the client authentication was refused): what it says.
    const said = cause.cause
      .map((c) => {
        const p = c.parameters
        const error = p.error ?? (cause.status === 401 ? 'invalid_client' : undefined)
        return `${c.scheme}${error ? ` ${error}` : ''}${p.error_description ? `: ${p.error_description}` : ''}${p.realm ? ` (realm ${p.realm})` : ''}`
      })
      .join('; ')
    return invalid(provider, `the provider answered ${cause.status} with the challenge ${said}`, cause)
  }
  if (!(cause instanceof Error)) return invalid(provider, String(cause), cause)
  // openid-client wraps the precise reason (which claim, which check) in its cause.
  let inner: Error = cause
  while (inner.cause instanceof Error) inner = inner.cause
  const detail = inner !== cause && inner.message !== cause.message ? ` (${inner.message})` : ''
  return invalid(provider, `${(cause as { code?: string }).code ?? cause.name}: ${cause.message}${detail}`, cause)
}
