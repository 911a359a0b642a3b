import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import type { Claims, ProviderDefinition } from './provider.ts'

/** What an auth method gets to work with: no container, no database. */
export interface AuthMethodIO {
  readonly logger: Logger
  readonly clock: Clock
}

/** The outcome of a successful authentication at a provider. */
export interface AuthResult {
  /** ID token claims merged with userinfo claims (userinfo wins, `sub` must agree). */
  readonly claims: Claims
  readonly idTokenClaims: Claims | undefined
  readonly userinfo: Claims | undefined
  /** The raw ID token, kept server-side for the sign-out hint. */
  readonly idToken: string | undefined
  /** The provider's session id (`sid`), for back-channel logout. */
  readonly sid?: string | undefined
  /** The provider's tokens, for `storeTokens`. */
  readonly tokens?: ProviderTokens | undefined
}

/** Tokens from a provider's token endpoint. */
export interface ProviderTokens {
  readonly accessToken: string
  readonly refreshToken?: string | undefined
  readonly idToken?: string | undefined
  /** Epoch ms, when the access token expires (if the provider said). */
  readonly expiresAt?: number | undefined
  readonly scope?: string | undefined
}

/** Who a verified back-channel logout token names. */
/** A bearer access token the provider vouched for. */
export interface VerifiedAccessToken {
  readonly claims: Claims
  /** The token's expiry, epoch ms. */
  readonly expiresAt: number
  /** Until when (epoch ms) the answer may be reused without asking again; the token's expiry when absent. */
  readonly reuseUntil?: number
}

export interface LogoutSubject {
  readonly sub?: string | undefined
  readonly sid?: string | undefined
  /** The logout token's id and expiry (epoch ms): a token is used once, remembered until then. */
  readonly jti: string
  readonly expiresAt: number
}

/** The callback request, as a method sees it: the query of its URL and, for a POST, its form. */
export interface CallbackRequest {
  readonly query: URLSearchParams
  readonly form: URLSearchParams | undefined
}

/** The sign-in a callback finishes: what `start` stored, and how it was started. */
export interface PendingSignIn {
  readonly data: Readonly<Record<string, string>>
  /** `none` for a silent sign-in (`prompt=none`). */
  readonly prompt: 'none' | undefined
}

/**
 * How a flow finished: the provider's authentication, or (a silent sign-in the
 * provider could not complete) an error code that goes back to `returnTo`.
 */
export type FinishResult = { readonly result: AuthResult } | { readonly silentError: string }

/** What an interactive auth method returns to start a flow. */
export interface StartResult {
  /** Where to send the browser. */
  readonly url: URL
  /** Values the method needs back at the callback (state, nonce, PKCE verifier). Stored server-side. */
  readonly data: Readonly<Record<string, string>>
}

/**
 * One sign-in strategy (`oidc`, `client-certificate`, ...). The core keeps one
 * context per provider and configuration generation, made by `initialize`.
 *
 * @example
 * ```ts
 * const method: AuthMethod<MyContext> = {
 *   strategy: 'oidc',
 *   async initialize(provider, io) { return discover(provider) },
 *   async start(ctx, provider) { return { url, data: { state } } },
 *   async finish(ctx, provider, request, pending) { return { result: { claims, ... } } },
 * }
 * ```
 */
export interface AuthMethod<Context = unknown> {
  readonly strategy: string
  /** Prepares a provider (discovery, keys). Failing here marks the provider unavailable, not broken. */
  initialize(provider: ProviderDefinition, io: AuthMethodIO): Promise<Context>
  /** Interactive flows: build the redirect to the provider. `prompt` overrides the provider's. */
  start?(context: Context, provider: ProviderDefinition, options?: { prompt?: 'none' }): Promise<StartResult>
  /** Interactive flows: finish at the callback (`GET` or `POST /auth/callback`), with what `start` stored. */
  finish?(
    context: Context,
    provider: ProviderDefinition,
    request: CallbackRequest,
    pending: PendingSignIn,
  ): Promise<FinishResult>
  /** Where to send the browser after the local session ended, to end the provider's session too. */
  signOutUrl?(context: Context, provider: ProviderDefinition, idToken: string | undefined): URL | undefined
  /** Verifies a back-channel logout token from this provider; throws when it is not valid. */
  verifyLogoutToken?(context: Context, provider: ProviderDefinition, token: string): Promise<LogoutSubject>
  /**
   * Validates a bearer access token (a JWT with the provider's keys, or by
   * introspection at this provider when it is configured to). Returns the
   * token's claims, or undefined when the token is not this provider's.
   */
  verifyAccessToken?(
    context: Context,
    provider: ProviderDefinition,
    token: string,
  ): Promise<VerifiedAccessToken | undefined>
  /** New tokens from a refresh token. */
  refresh?(context: Context, provider: ProviderDefinition, refreshToken: string): Promise<ProviderTokens>
  dispose?(context: Context): Promise<void>
}
