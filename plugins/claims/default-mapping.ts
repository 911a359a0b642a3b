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
 * `sub` (required) -> subject; `iss` (required, must equal the provider's
 * issuer) -> issuer; `username`, else `preferred_username` (required) ->
 * username; `given_name`, `family_name`, `email` (verified when
 * `email_verified` is true, or always with the provider's `trustEmail`), `roles`.
 */
export const defaultMapping: ClaimMapper = {
  name: 'otpki-default',
  map({ claims, provider }, identity) {
    const names = provider.claims
    const subject = text(claims, 'sub')
    if (!subject) throw missing('sub', provider.name)
    const issuer = text(claims, 'iss')
    if (!issuer) throw missing('iss', provider.name)
    if (issuer !== provider.issuer) {
      throw new OtpkiError('CLAIM_INVALID', `"iss" ${issuer} does not match the issuer of ${provider.name}`, {
        publicMessage: 'The identity provider sent a token for another issuer. Please contact an administrator.',
      })
    }
    const username = names.username.map((path) => text(claims, path)).find((v) => v !== undefined)
    if (!username) throw missing(names.username.join('" or "'), provider.name)
    return {
      ...identity,
      issuer,
      subject,
      username,
      firstName: text(claims, names.firstName),
      lastName: text(claims, names.lastName),
      email: text(claims, names.email),
      // trustEmail: the operator vouches for this provider's emails.
      emailVerified: provider.trustEmail || readClaim(claims, names.emailVerified) === true,
      roles: claimStrings(readClaim(claims, names.roles)),
      attributes: identity.attributes ?? {},
    }
  },
}
