import type { TLSSocket } from 'node:tls'
import type { PluginServices } from './plugin.ts'
import type { StoredUser } from './user-sync.ts'

/** What a per-request authenticator sees of a request. */
export interface RequestInfo {
  readonly headers: Headers
  /** Every value of a header, as received (a repeated header has several). */
  headerValues(name: string): string[]
  /** The TCP peer: never X-Forwarded-For. */
  readonly remoteAddress: string | undefined
  /** On a TLS connection (a listener a plugin added): the socket, with what the handshake learnt. */
  readonly tls: TLSSocket | undefined
}

export interface RequestPrincipal {
  readonly user: StoredUser
  readonly method: string
  /** The provider that vouched for the credential, when one did (a bearer token's issuer). */
  readonly provider?: string | undefined
}

/**
 * Authenticates a request by what it carries, without a session (a client
 * certificate, say). Answers undefined when the request carries none of its
 * credentials; throws an `OtpkiError` (status 401) to refuse with a reason.
 */
export interface RequestAuthenticator {
  readonly name: string
  /**
   * Cheap and synchronous, on every request: whether it carries this
   * authenticator's credential at all (a header present, a TLS connection).
   * Requests that carry none skip `authenticate`, and keep the session fast path.
   */
  carries(request: { readonly headers: Headers; readonly tls: boolean }): boolean
  authenticate(request: RequestInfo): Promise<RequestPrincipal | undefined> | RequestPrincipal | undefined
}

/** What a request authenticator is built with, once the database is open. */
export type RequestAuthenticatorServices = PluginServices

export type RequestAuthenticatorFactory = (services: RequestAuthenticatorServices) => RequestAuthenticator
