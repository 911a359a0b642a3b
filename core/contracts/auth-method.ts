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
}

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
 *   async callback(ctx, provider, url, data) { return { claims, ... } },
 * }
 * ```
 */
export interface AuthMethod<Context = unknown> {
  readonly strategy: string
  /** Prepares a provider (discovery, keys). Failing here marks the provider unavailable, not broken. */
  initialize(provider: ProviderDefinition, io: AuthMethodIO): Promise<Context>
  /** Interactive flows: build the redirect to the provider. */
  start?(context: Context, provider: ProviderDefinition): Promise<StartResult>
  /** Interactive flows: finish at the callback URL, with the data `start` returned. */
  callback?(context: Context, provider: ProviderDefinition, callbackUrl: URL, data: Readonly<Record<string, string>>): Promise<AuthResult>
  /** Where to send the browser after the local session ended, to end the provider's session too. */
  signOutUrl?(context: Context, provider: ProviderDefinition, idToken: string | undefined): URL | undefined
  dispose?(context: Context): Promise<void>
}
