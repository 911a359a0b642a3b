/**
 * Every error OTPKI raises on purpose carries a stable `code`, so callers,
 * tests and logs can tell failures apart without parsing messages.
 *
 * @example
 * ```ts
 * throw new OtpkiError('CLAIM_MISSING', 'The provider sent no "sub" claim', { status: 400 })
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
  | 'TRANSACTION_MISSING'
  | 'TRANSACTION_EXPIRED'
  | 'AUTH_RESPONSE_INVALID'
  | 'AUTH_PROVIDER_ERROR'
  | 'CLAIM_MISSING'
  | 'CLAIM_INVALID'
  | 'USER_UNKNOWN'
  | 'USERNAME_TAKEN'
  | 'USERNAME_INVALID'
  | 'IDENTITY_INVALID'
  | 'RATE_LIMITED'
  | 'BODY_TOO_LARGE'
  | 'IDENTITY_LINKED'
  | 'LINKING_ONLY'
  | 'TOKEN_INVALID'
  | 'FORBIDDEN'
  | 'FLOW_DENIED'
  | 'SESSION_INVALID'
  | 'INTERNAL'

export interface OtpkiErrorOptions {
  /** HTTP status used when the error reaches the edge. Defaults to 500 for INTERNAL, 400 otherwise. */
  status?: number
  /** A message safe to show to the end user. Defaults to a neutral text per code. */
  publicMessage?: string
  cause?: unknown
  /** RATE_LIMITED: seconds until the client may try again (the Retry-After header). */
  retryAfter?: number
}

export class OtpkiError extends Error {
  override readonly name = 'OtpkiError'
  readonly code: OtpkiErrorCode
  readonly status: number
  readonly publicMessage: string | undefined
  readonly retryAfter: number | undefined

  constructor(code: OtpkiErrorCode, message: string, options: OtpkiErrorOptions = {}) {
    super(message, { cause: options.cause ?? null })
    this.code = code
    this.retryAfter = options.retryAfter
    this.status = options.status ?? (code === 'INTERNAL' ? 500 : 400)
    this.publicMessage = options.publicMessage
  }
}

/** True when `error` is an {@link OtpkiError}, optionally with the given code. */
export function isOtpkiError(error: unknown, code?: OtpkiErrorCode): error is OtpkiError {
  return error instanceof OtpkiError && (code === undefined || error.code === code)
}
