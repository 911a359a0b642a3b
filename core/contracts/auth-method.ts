import type { Clock } from '../clock.ts'
import type { FieldIssue, Fields, OutputOf } from '../config/fields.ts'
import type { SecretRef } from '../config/secrets.ts'
import type { Logger } from '../logger.ts'
import type { Claims, ProviderDefinition } from './provider.ts'

/** What a strategy's option checks may use. */
export interface OptionsContext {
  /** The provider's name. */
  readonly name: string
  /** The server's public URL (for redirect URLs and the like). */
  readonly publicUrl: string
  /** Reads a secret value (a string, `{ env }` or `{ file }`); throws naming `key` when it cannot. */
  secret(ref: SecretRef, key: string): string
}

/** The options a strategy derived from a provider file, or why it refuses them. */
export interface ResolvedOptions<O> {
  readonly options: O
  readonly issues: readonly FieldIssue[]
  /** Logged at every load (a weaker setting the operator chose, say). */
  readonly warnings?: readonly string[]
}

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
  /**
   * Who issued these claims, when it is not the provider's own issuer: one
   * tenant of a multi-tenant provider, say. The identity is kept under it, and
   * `iss` must equal it.
   */
  readonly issuer?: string | undefined
  /** The raw ID token, kept server-side for the sign-out hint. */
  readonly idToken: string | undefined
  /** The provider's session id (`sid`), for back-channel logout. */
  readonly sid?: string | undefined
  /** The provider's tokens, kept with the session (encrypted) when given: give them only when the provider says to. */
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
  /** Who issued it, when it is not the provider's own issuer (see {@link AuthResult.issuer}). */
  readonly issuer?: string | undefined
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
 * One sign-in strategy (`oidc`, a SAML or trusted-header method, ...): the
 * provider files that name it are its providers. It owns every key of such a
 * file beyond the envelope, through `optionsSchema`. The core keeps one
 * context per provider and configuration generation, made by `initialize`.
 *
 * @example
 * ```ts
 * const method: AuthMethod<MyContext, MyOptions, typeof myFields> = {
 *   strategy: 'my-sso',
 *   optionsSchema: myFields,
 *   resolveOptions: (value) => ({ options: value, issues: [] }),
 *   issuerOf: (options) => options.entityId,
 *   async initialize(provider, io) { return connect(provider.options) },
 *   async start(ctx, provider) { return { url, data: { state } } },
 *   async finish(ctx, provider, request, pending) { return { result: { claims, ... } } },
 * }
 * ```
 */
/** What `otpki providers import` passes on. */
export interface ImportOptions {
  /** The provider's name (and file name). */
  readonly name: string
  /** The client ID registered at the provider, when known. */
  readonly clientId?: string
  /** Reads a file the source names (relative to the current directory). */
  readFile(path: string): Promise<string>
}

export interface AuthMethod<Context = unknown, Options = any, F extends Fields = Fields> {
  readonly strategy: string
  /** Serves the provider files that name no `strategy`. At most one registered method may. */
  readonly isDefault?: boolean
  /**
   * Its providers get a button of their own on the sign-in page ("Sign in
   * with DISPLAY NAME"), beside the identity providers, instead of a place in
   * their list (a passkey, say).
   */
  readonly ownButton?: boolean
  /** The provider file keys this strategy owns, beside the envelope: validated strictly, defaults applied. */
  readonly optionsSchema: F
  /** Checks across options, and the values they imply. Without it, the validated values are the options. */
  resolveOptions?(value: OutputOf<F>, context: OptionsContext): ResolvedOptions<Options>
  /** Whose identities a provider with these options vouches for (see {@link ProviderDefinition.issuer}). */
  issuerOf(options: Options): string
  /** Columns for the providers list (`otpki providers`), never a secret. */
  describe?(options: Options): Readonly<Record<string, string | boolean>>
  /**
   * `otpki providers import SOURCE`: a provider file's keys (this strategy's
   * and the envelope's) from what the provider publishes: an address or a
   * file, in the strategy's own terms (an issuer or its metadata, for OIDC).
   * `notes` say what the operator still has to do.
   */
  importProvider?(source: string, options: ImportOptions): Promise<{ keys: Record<string, unknown>; notes: string[] }>
  /** Prepares a provider (discovery, keys). Failing here marks the provider unavailable, not broken. */
  initialize(provider: ProviderDefinition<Options>, io: AuthMethodIO): Promise<Context>
  /**
   * Whether a silent sign-in (`prompt=none`) goes to this provider; when not
   * (or absent), it is answered `login_required` at once.
   */
  forwardsSilentSignIn?(provider: ProviderDefinition<Options>): boolean
  /** Interactive flows: build the redirect to the provider. `prompt` overrides the provider's. */
  start?(context: Context, provider: ProviderDefinition<Options>, options?: { prompt?: 'none' }): Promise<StartResult>
  /** Interactive flows: finish at the callback (`GET` or `POST /auth/callback`), with what `start` stored. */
  finish?(
    context: Context,
    provider: ProviderDefinition<Options>,
    request: CallbackRequest,
    pending: PendingSignIn,
  ): Promise<FinishResult>
  /**
   * Ends the provider's session with a request of its own, server to server,
   * after the local session ended. Answers false when this provider signs out
   * through the browser instead (see signOutUrl); throws when the provider
   * refused or could not be reached.
   */
  signOutByServer?(
    context: Context,
    provider: ProviderDefinition<Options>,
    idToken: string | undefined,
  ): Promise<boolean>
  /** Where to send the browser after the local session ended, to end the provider's session too. */
  signOutUrl?(context: Context, provider: ProviderDefinition<Options>, idToken: string | undefined): URL | undefined
  /** Verifies a back-channel logout token from this provider; throws when it is not valid. */
  verifyLogoutToken?(context: Context, provider: ProviderDefinition<Options>, token: string): Promise<LogoutSubject>
  /**
   * Validates a bearer access token (a JWT with the provider's keys, or by
   * introspection at this provider when it is configured to). Returns the
   * token's claims, or undefined when the token is not this provider's.
   */
  verifyAccessToken?(
    context: Context,
    provider: ProviderDefinition<Options>,
    token: string,
  ): Promise<VerifiedAccessToken | undefined>
  /** New tokens from a refresh token. */
  refresh?(context: Context, provider: ProviderDefinition<Options>, refreshToken: string): Promise<ProviderTokens>
  dispose?(context: Context): Promise<void>

  /** Counts this provider's context keeps, for the metrics (`otpki_provider_key_set_fetches_total`, say). */
  counters?(context: Context): ProviderCounters
}

/** What an auth method counts per provider, exported as metrics with the provider's name. */
export interface ProviderCounters {
  /** Key-set (JWKS) fetches. */
  readonly keySetFetches?: number
  /** Key-set fetches that failed. */
  readonly keySetFetchErrors?: number
}
