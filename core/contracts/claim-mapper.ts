import type { Claims, ProviderDefinition } from './provider.ts'

/** The identity a claim-mapper chain produces, input to user sync. */
export interface MappedIdentity {
  issuer: string
  subject: string
  username: string
  firstName: string | undefined
  lastName: string | undefined
  email: string | undefined
  emailVerified: boolean
  /** `undefined` when the provider sent no roles claim: roles then stay as they are. */
  roles: string[] | undefined
  attributes: Record<string, unknown>
}

export interface ClaimMapperInput {
  /** ID token claims merged with userinfo. */
  readonly claims: Claims
  readonly idTokenClaims: Claims | undefined
  readonly userinfo: Claims | undefined
  readonly provider: ProviderDefinition
}

/**
 * Turns provider claims into (part of) a {@link MappedIdentity}. Mappers run
 * in order; each gets the identity so far and returns the next one. Throw an
 * `OtpkiError('CLAIM_MISSING' | 'CLAIM_INVALID', ...)` to refuse the sign-in.
 *
 * @example
 * ```ts
 * const department: ClaimMapper = {
 *   name: 'department',
 *   map: ({ claims }, identity) => ({ ...identity, roles: [...(identity.roles ?? []), `dept-${claims.department}`] }),
 * }
 * ```
 */
export interface ClaimMapper {
  readonly name: string
  map(input: ClaimMapperInput, identity: Partial<MappedIdentity>): Promise<Partial<MappedIdentity>> | Partial<MappedIdentity>
}
