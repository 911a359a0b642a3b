/**
 * Every error OTPKI raises on purpose carries a stable `code`, one per
 * meaning, so callers, tests and logs can tell failures apart without parsing
 * messages. Only the HTTP edge (`core/http/error-table.ts`) turns a code into
 * a status and a page title.
 *
 * @example
 * ```ts
 * throw new OtpkiError('CLAIM_MISSING', 'The provider sent no "sub" claim')
 * ```
 */
export type OtpkiErrorCode =
  | 'CONFIG_INVALID'
  | 'PROVIDER_INVALID'
  | 'PROVIDER_UNKNOWN'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_CHANGED'
  | 'PLUGIN_INVALID'
  | 'SECRET_UNRESOLVED'
  | 'CSRF_INVALID'
  | 'REQUEST_INVALID'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BODY_TOO_LARGE'
  | 'NOT_FOUND'
  | 'TRANSACTION_MISSING'
  | 'TRANSACTION_EXPIRED'
  | 'AUTH_RESPONSE_INVALID'
  | 'AUTH_PROVIDER_ERROR'
  | 'CLAIM_MISSING'
  | 'CLAIM_INVALID'
  | 'USER_UNKNOWN'
  | 'USER_DISABLED'
  | 'USERNAME_TAKEN'
  | 'USERNAME_INVALID'
  | 'IDENTITY_INVALID'
  | 'IDENTITY_LINKED'
  | 'LINKING_ONLY'
  | 'TOKEN_INVALID'
  | 'CREDENTIAL_REFUSED'
  | 'SESSION_INVALID'
  | 'FORBIDDEN'
  | 'FLOW_DENIED'
  | 'RATE_LIMITED'
  | 'SIGN_IN_BUSY'
  | 'INTERNAL'

export interface OtpkiErrorOptions {
  /** A message safe to show to the end user. Defaults to the neutral text of its code. */
  publicMessage?: string
  cause?: unknown
  /** RATE_LIMITED, SIGN_IN_BUSY: seconds until the client may try again (the Retry-After header). */
  retryAfter?: number
}

export class OtpkiError extends Error {
  override readonly name = 'OtpkiError'
  readonly code: OtpkiErrorCode
  readonly publicMessage: string | undefined
  readonly retryAfter: number | undefined

  constructor(code: OtpkiErrorCode, message: string, options: OtpkiErrorOptions = {}) {
    super(message, { cause: options.cause ?? null })
    this.code = code
    this.publicMessage = options.publicMessage
    this.retryAfter = options.retryAfter
  }
}

/** True when `error` is an {@link OtpkiError}, optionally with the given code. */
export function isOtpkiError(error: unknown, code?: OtpkiErrorCode): error is OtpkiError {
  return error instanceof OtpkiError && (code === undefined || error.code === code)
}
