import { isOtpkiError, type OtpkiError, type OtpkiErrorCode } from '../errors.ts'

/** How the edge answers an error code: the status, the error page's title, and the message when the error has none of its own. */
export interface ErrorAnswer {
  readonly status: number
  readonly title: string
  readonly message: string
}

const SIGN_IN_FAILED = 'The sign-in could not be completed. Please sign in again.'
const UNAVAILABLE =
  'OTPKI could not complete this request. Please try again; if it keeps happening, contact an administrator.'

/** The one table from error code to HTTP answer. Nothing else in OTPKI sets an error status. */
export const ERROR_TABLE: Readonly<Record<OtpkiErrorCode, ErrorAnswer>> = {
  CONFIG_INVALID: { status: 500, title: 'Something went wrong', message: UNAVAILABLE },
  PROVIDER_INVALID: { status: 500, title: 'Something went wrong', message: UNAVAILABLE },
  PLUGIN_INVALID: { status: 500, title: 'Something went wrong', message: UNAVAILABLE },
  SECRET_UNRESOLVED: { status: 500, title: 'Something went wrong', message: UNAVAILABLE },
  INTERNAL: { status: 500, title: 'Something went wrong', message: UNAVAILABLE },
  PROVIDER_UNKNOWN: {
    status: 404,
    title: 'Sign-in failed',
    message: 'This sign-in option does not exist. Please choose another one.',
  },
  PROVIDER_UNAVAILABLE: {
    status: 503,
    title: 'Sign-in unavailable',
    message: 'This sign-in option is not available right now. Please try again in a moment.',
  },
  PROVIDER_CHANGED: {
    status: 409,
    title: 'Sign-in failed',
    message: 'The sign-in configuration changed while you were signing in. Please sign in again.',
  },
  CSRF_INVALID: {
    status: 403,
    title: 'Access denied',
    message: 'This form has expired. Please reload the page and try again.',
  },
  REQUEST_INVALID: { status: 400, title: 'Bad request', message: 'The request could not be handled.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Bad request', message: 'Unsupported request.' },
  BODY_TOO_LARGE: { status: 413, title: 'Request too large', message: 'Request too large.' },
  NOT_FOUND: { status: 404, title: 'Not found', message: 'There is nothing here.' },
  TRANSACTION_MISSING: { status: 400, title: 'Sign-in failed', message: SIGN_IN_FAILED },
  TRANSACTION_EXPIRED: {
    status: 400,
    title: 'Sign-in failed',
    message: 'The sign-in took too long. Please sign in again.',
  },
  AUTH_RESPONSE_INVALID: { status: 400, title: 'Sign-in failed', message: SIGN_IN_FAILED },
  AUTH_PROVIDER_ERROR: { status: 400, title: 'Sign-in failed', message: SIGN_IN_FAILED },
  CLAIM_MISSING: { status: 400, title: 'Sign-in failed', message: SIGN_IN_FAILED },
  CLAIM_INVALID: { status: 400, title: 'Sign-in failed', message: SIGN_IN_FAILED },
  USERNAME_INVALID: { status: 400, title: 'Sign-in failed', message: SIGN_IN_FAILED },
  IDENTITY_INVALID: { status: 400, title: 'Sign-in failed', message: SIGN_IN_FAILED },
  USER_UNKNOWN: {
    status: 403,
    title: 'Access denied',
    message: 'There is no OTPKI account for you. Please contact an administrator.',
  },
  USER_DISABLED: {
    status: 403,
    title: 'Access denied',
    message: 'This OTPKI account is disabled. Please contact an administrator.',
  },
  LINKING_ONLY: {
    status: 403,
    title: 'Access denied',
    message: 'This sign-in option can only be linked to an account.',
  },
  FLOW_DENIED: { status: 403, title: 'Access denied', message: 'The sign-in was not allowed.' },
  FORBIDDEN: { status: 403, title: 'Access denied', message: 'You may not do this.' },
  USERNAME_TAKEN: {
    status: 409,
    title: 'Account conflict',
    message: 'This username belongs to another account. Please contact an administrator.',
  },
  IDENTITY_LINKED: { status: 409, title: 'Account conflict', message: 'This identity belongs to another account.' },
  SESSION_INVALID: { status: 401, title: 'Sign-in required', message: 'Please sign in first.' },
  TOKEN_INVALID: { status: 401, title: 'Sign-in required', message: 'The access token is not valid.' },
  CREDENTIAL_REFUSED: { status: 401, title: 'Sign-in required', message: 'The credential was refused.' },
  RATE_LIMITED: { status: 429, title: 'Too many requests', message: 'Too many requests. Please try again later.' },
  SIGN_IN_BUSY: {
    status: 503,
    title: 'Sign-in unavailable',
    message: 'Too many sign-ins are in progress right now. Please try again in a minute.',
  },
}

const UNEXPECTED: ErrorAnswer = { status: 500, title: 'Something went wrong', message: UNAVAILABLE }

/** The HTTP answer to an error: its code's row, or 500 for anything OTPKI did not raise on purpose. */
export function answerFor(error: OtpkiError | undefined): ErrorAnswer {
  // A code outside the table (plugin code not checked by the compiler) is an unexpected error, never a crash here.
  return (error && Object.hasOwn(ERROR_TABLE, error.code) ? ERROR_TABLE[error.code] : undefined) ?? UNEXPECTED
}

/** The status an error is answered with. */
export function statusOf(error: unknown): number {
  return answerFor(isOtpkiError(error) ? error : undefined).status
}
