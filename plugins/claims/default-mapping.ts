import { OtpkiError, type ClaimMapper, type Claims } from '../../core/index.ts'

function missing(claim: string, provider: string): OtpkiError {
  return new OtpkiError('CLAIM_MISSING', `${provider} sent no "${claim}" claim`, {
    publicMessage: `The identity provider did not send the "${claim}" claim that OTPKI needs. Please contact an administrator.`,
  })
}

function text(claims: Claims, name: string): string | undefined {
  const value = claims[name]
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}

/** Roles given as an array of strings, or one string separated by spaces or commas. */
export function parseRoles(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : []
  return [...new Set(list.filter((r): r is string => typeof r === 'string').map((r) => r.trim()).filter(Boolean))]
}

/**
 * The OTPKI default mapping:
 * `sub` (required) -> subject; `iss` (required, must equal the provider's
 * issuer) -> issuer; `username`, else `preferred_username` (required) ->
 * username; `given_name`, `family_name`, `email` (verified when
 * `email_verified` is true, or always with the provider's `trustEmail`), `roles`.
 */
export const defaultMapping: ClaimMapper = {
  name: 'otpki-default',
  map({ claims, provider }, identity) {
    const subject = text(claims, 'sub')
    if (!subject) throw missing('sub', provider.name)
    const issuer = text(claims, 'iss')
    if (!issuer) throw missing('iss', provider.name)
    if (issuer !== provider.issuer) {
      throw new OtpkiError('CLAIM_INVALID', `"iss" ${issuer} does not match the issuer of ${provider.name}`, {
        publicMessage: 'The identity provider sent a token for another issuer. Please contact an administrator.',
      })
    }
    const username = text(claims, 'username') ?? text(claims, 'preferred_username')
    if (!username) throw missing('username" or "preferred_username', provider.name)
    return {
      ...identity,
      issuer,
      subject,
      username,
      firstName: text(claims, 'given_name'),
      lastName: text(claims, 'family_name'),
      email: text(claims, 'email'),
      // trustEmail: the operator vouches for this provider's emails.
      emailVerified: provider.trustEmail || claims.email_verified === true,
      roles: parseRoles(claims.roles),
      attributes: identity.attributes ?? {},
    }
  },
}
