import type { Fields } from '../config/fields.ts'
import type { Claims, ProviderDefinition } from './provider.ts'

/**
 * When a mapped field is written to an existing user:
 * `force` at every sign-in; `import` at the first sign-in only; `legacy`
 * Keycloak's meaning: names and attributes at the first sign-in, roles at every sign-in.
 */
export type SyncMode = 'force' | 'import' | 'legacy'

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
  /** Per field (`firstName`, `roles`, `attributes.department`, ...): a sync mode that overrides the provider's. */
  syncModes?: Record<string, SyncMode>
  /** Per field: which mapper set it (filled in by the chain; shown by `otpki explain`). */
  provenance?: Record<string, string>
}

export interface ClaimMapperInput {
  /** ID token claims merged with userinfo. */
  readonly claims: Claims
  readonly idTokenClaims: Claims | undefined
  readonly userinfo: Claims | undefined
  readonly provider: ProviderDefinition
  /** The issuer the claims must name in `iss`, when the method vouched for another than the provider's (a tenant's). */
  readonly issuer?: string
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
export interface ClaimMapper<Options = any> {
  /** The `type` that names this mapper in a provider's `mappers: [...]`. */
  readonly name: string
  /** Options it takes in `mappers: [{ type: name, ...options }]`, validated when the provider file loads. */
  readonly optionsSchema?: Fields
  map(
    input: ClaimMapperInput,
    identity: Partial<MappedIdentity>,
    options: Options,
  ): Promise<Partial<MappedIdentity>> | Partial<MappedIdentity>
}
