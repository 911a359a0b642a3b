import { OtpkiError } from '../errors.ts'

/** The longest username OTPKI accepts, in characters (after normalisation). */
export const USERNAME_MAX_LENGTH = 128

/**
 * Letters, marks and digits of any script, and `. _ - @ + '` and single spaces
 * between them; a letter or digit first. No path separators, no control or
 * invisible characters.
 */
const USERNAME = /^[\p{L}\p{N}](?:[\p{L}\p{M}\p{N}._@+'-]| (?! ))*$/u

/**
 * A username as OTPKI stores it, from any source (a certificate's CN, a claim,
 * a template): Unicode NFKC, trimmed, then checked against the documented
 * character set and length. Throws `USERNAME_INVALID` with the rule it broke.
 *
 * @example
 * ```ts
 * normalizeUsername(' ａlice ') // 'alice'
 * normalizeUsername('../etc')   // throws USERNAME_INVALID
 * ```
 */
export function normalizeUsername(raw: string, source = 'the username'): string {
  const name = raw.normalize('NFKC').trim()
  const refuse = (rule: string) =>
    new OtpkiError('USERNAME_INVALID', `${source} ${JSON.stringify(printable(name).slice(0, 80))} ${rule}`, {
      publicMessage: `The username this sign-in would use ${rule}. Please contact an administrator.`,
    })
  if (name === '') throw refuse('is empty')
  if ([...name].length > USERNAME_MAX_LENGTH) throw refuse(`is longer than ${USERNAME_MAX_LENGTH} characters`)
  if (!USERNAME.test(name)) {
    throw refuse("may hold only letters, digits, single spaces and . _ - @ + ' (starting with a letter or digit)")
  }
  return name
}

/** The key usernames are unique by: two names that differ only in case are one name. */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toLowerCase()
}

/** Replaces control characters (C0, DEL, C1) and bidi overrides with U+FFFD, for logs and terminals. */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\ufffd')
}
