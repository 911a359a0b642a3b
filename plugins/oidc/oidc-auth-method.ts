import * as client from 'openid-client'
import { OtpkiError, type AuthMethod, type AuthResult, type Claims, type ProviderDefinition } from '../../core/index.ts'

/** What the OIDC method keeps per provider and configuration generation. */
export interface OidcContext {
  readonly config: client.Configuration
}

/** Seconds for any call to a provider (discovery, token, userinfo). */
const HTTP_TIMEOUT = 10

function clientAuth(provider: ProviderDefinition): client.ClientAuth {
  switch (provider.clientAuthentication) {
    case 'client_secret_post':
      return client.ClientSecretPost(provider.clientSecret)
    case 'client_secret_basic':
      return client.ClientSecretBasic(provider.clientSecret)
  }
}

/**
 * OpenID Connect relying party (authorization code flow with PKCE S256,
 * state, nonce, RFC 9207 `iss` check), built on openid-client.
 */
export const oidcAuthMethod: AuthMethod<OidcContext> = {
  strategy: 'oidc',

  async initialize(provider) {
    const issuer = new URL(provider.issuer)
    const config = await client.discovery(
      issuer,
      provider.clientId,
      { redirect_uris: [provider.redirectUrl], response_types: ['code'] },
      clientAuth(provider),
      {
        timeout: HTTP_TIMEOUT,
        // Provider URLs are https; plain http only passes validation for loopback hosts.
        ...(issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
      },
    )
    return { config }
  },

  async start({ config }, provider) {
    const codeVerifier = client.randomPKCECodeVerifier()
    const state = client.randomState()
    const nonce = client.randomNonce()
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: provider.redirectUrl,
      scope: provider.scopes.join(' '),
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    })
    return { url, data: { state, nonce, codeVerifier } }
  },

  async callback({ config }, provider, callbackUrl, data): Promise<AuthResult> {
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>
    try {
      tokens = await client.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: data.codeVerifier!,
        expectedState: data.state!,
        expectedNonce: data.nonce!,
        idTokenExpected: true,
      })
    } catch (cause) {
      throw asOtpkiError(cause, provider)
    }
    const idTokenClaims = tokens.claims() as Claims | undefined
    if (!idTokenClaims) throw new OtpkiError('AUTH_RESPONSE_INVALID', 'token response without an ID token')
    let userinfo: Claims | undefined
    if (config.serverMetadata().userinfo_endpoint) {
      try {
        userinfo = (await client.fetchUserInfo(config, tokens.access_token, idTokenClaims.sub as string)) as Claims
      } catch (cause) {
        throw asOtpkiError(cause, provider)
      }
    }
    // Userinfo is fresher for profile claims; identity claims stay the ID token's.
    const claims: Claims = { ...idTokenClaims, ...userinfo, iss: idTokenClaims.iss, sub: idTokenClaims.sub, aud: idTokenClaims.aud }
    return { claims, idTokenClaims, userinfo, idToken: tokens.id_token }
  },

  signOutUrl({ config }, provider, idToken) {
    if (!config.serverMetadata().end_session_endpoint) return undefined
    return client.buildEndSessionUrl(config, {
      client_id: provider.clientId,
      post_logout_redirect_uri: provider.postLogoutUrl,
      ...(idToken ? { id_token_hint: idToken } : {}),
    })
  },
}

function asOtpkiError(cause: unknown, provider: ProviderDefinition): OtpkiError {
  if (cause instanceof client.AuthorizationResponseError) {
    return new OtpkiError('AUTH_PROVIDER_ERROR', `provider returned ${cause.error}: ${cause.error_description ?? ''}`.trim(), {
      status: 400,
      publicMessage: `${provider.displayName} did not complete the sign-in (${cause.error}). Please try again.`,
      cause,
    })
  }
  const reason = cause instanceof Error ? `${(cause as { code?: string }).code ?? cause.name}: ${cause.message}` : String(cause)
  return new OtpkiError('AUTH_RESPONSE_INVALID', `response from ${provider.name} refused: ${reason}`, {
    status: 400,
    publicMessage: `The answer from ${provider.displayName} could not be verified. Please sign in again.`,
    cause,
  })
}
