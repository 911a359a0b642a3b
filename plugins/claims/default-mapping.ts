import { OtpkiError, claimStrings, readClaim, type ClaimMapper, type Claims } from '../../core/index.ts'

function missing(claim: string, provider: string): OtpkiError {
  return new OtpkiError('CLAIM_MISSING', `${provider} sent no "${claim}" claim`, {
    publicMessage: `The identity provider did not send the "${claim}" claim that OTPKI needs. Please contact an administrator.`,
  })
}

export function text(claims: Claims, path: string): string | undefined {
  const value = readClaim(claims, path)
  return typeof value === 'string' && value.trim() !== ''
    ? value.trim()
    : typeof value === 'number'
      ? String(value)
      : undefined
}

/**
 * The OTPKI default mapping, reading the provider's `claims` paths:
 * `sub` (required; `claims.subject` names another claim) -> subject; `iss` (required, must equal the provider's
 * issuer) -> issuer; `username`, else `preferred_username` (required) ->
 * username; `given_name`, `family_name`, `email` (verified when
 * `email_verified` is true, or always with the provider's `trustEmail`), `roles`.
 */
export const defaultMapping: ClaimMapper = {
  name: 'otpki-default',
  map({ claims, provider, issuer: expectedIssuer }, identity) {
    const names = provider.claims
    const subject = text(claims, names.subject)
    if (!subject) throw missing(names.subject, provider.name)
    const issuer = text(claims, 'iss')
    if (!issuer) throw missing('iss', provider.name)
    if (issuer !== (expectedIssuer ?? provider.issuer)) {
      throw new OtpkiError('CLAIM_INVALID', `"iss" ${issuer} does not match the issuer of ${provider.name}`, {
        publicMessage: 'The identity provider sent a token for another issuer. Please contact an administrator.',
      })
    }
    const username = names.username.map((path) => text(claims, path)).find((v) => v !== undefined)
    // A username-template mapper later in the chain builds the username when none is sent.
    if (!username && !provider.mappers.some((m) => m.type === 'username-template'))
      throw missing(names.username.join('" or "'), provider.name)
    let firstName = text(claims, names.firstName)
    let lastName = text(claims, names.lastName)
    if (provider.splitFullName && firstName === undefined && lastName === undefined)
      [firstName, lastName] = splitName(text(claims, names.fullName))
    return {
      ...identity,
      issuer,
      subject,
      ...(username ? { username } : {}),
      firstName,
      lastName,
      email: text(claims, names.email),
      // trustEmail: the operator vouches for this provider's emails.
      emailVerified: provider.trustEmail || readClaim(claims, names.emailVerified) === true,
      roles: rolesOf(claims, [names.roles, ...names.additionalRoles], provider.absentRoles),
      attributes: identity.attributes ?? {},
    }
  },
}

/** "Ada King Lovelace" -> ["Ada King", "Lovelace"]; one word is a first name. */
export function splitName(full: string | undefined): [string | undefined, string | undefined] {
  const words = full?.split(/\s+/).filter(Boolean) ?? []
  if (words.length === 0) return [undefined, undefined]
  if (words.length === 1) return [words[0], undefined]
  return [words.slice(0, -1).join(' '), words.at(-1)]
}

/**
 * The roles of every path, together, in order and without repeats; none of
 * the paths present: undefined (roles untouched), or [] with `absentRoles: clear`.
 */
function rolesOf(claims: Claims, paths: readonly string[], absent: 'keep' | 'clear'): string[] | undefined {
  let found: string[] | undefined
  for (const p of paths) {
    const values = claimStrings(readClaim(claims, p))
    if (values !== undefined) found = [...new Set([...(found ?? []), ...values])]
  }
  return found ?? (absent === 'clear' ? [] : undefined)
}
