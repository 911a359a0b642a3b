import type { MappedIdentity } from '../contracts/claim-mapper.ts'
import { OtpkiError } from '../errors.ts'
import { normalizeUsername } from './username.ts'

/** Size limits on what a provider's claims may put into an account. Documented in the README. */
export const IDENTITY_LIMITS = {
  /** firstName, lastName: characters. */
  name: 255,
  /** email: characters (RFC 5321's path limit). */
  email: 320,
  /** How many roles one identity may carry. */
  roles: 100,
  /** One role name: characters. */
  role: 128,
  /** attributes, as JSON: bytes. */
  attributesBytes: 16_384,
  /** subject: characters. */
  subject: 255,
} as const

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/

/**
 * Checks a mapped identity before user sync, whatever produced it (claims,
 * templates, mappers, flow steps): the username normalised and checked, every
 * claim-derived field within its size limit and free of control characters.
 * Returns the identity with the normalised username; throws `IDENTITY_INVALID`
 * (or `USERNAME_INVALID`) naming the field.
 */
export function checkIdentity(identity: MappedIdentity): MappedIdentity {
  const refuse = (field: string, rule: string) =>
    new OtpkiError('IDENTITY_INVALID', `the identity's ${field} ${rule}`, {
      publicMessage: `Your account data from the identity provider cannot be used: ${field} ${rule}. Please contact an administrator.`,
    })
  const text = (field: string, value: string | undefined, max: number) => {
    if (value === undefined) return
    if (typeof value !== 'string') throw refuse(field, 'is not text')
    if ([...value].length > max) throw refuse(field, `is longer than ${max} characters`)
    if (CONTROL.test(value)) throw refuse(field, 'holds control characters')
  }
  text('subject', identity.subject, IDENTITY_LIMITS.subject)
  text('firstName', identity.firstName, IDENTITY_LIMITS.name)
  text('lastName', identity.lastName, IDENTITY_LIMITS.name)
  text('email', identity.email, IDENTITY_LIMITS.email)
  if (identity.email !== undefined && /\s/.test(identity.email)) throw refuse('email', 'holds white space')
  if (identity.roles !== undefined) {
    if (identity.roles.length > IDENTITY_LIMITS.roles)
      throw refuse('roles', `has more than ${IDENTITY_LIMITS.roles} entries`)
    for (const role of identity.roles) {
      text('a role name', role, IDENTITY_LIMITS.role)
      if (role.trim() === '') throw refuse('a role name', 'is empty')
    }
  }
  let attributes: string
  try {
    attributes = JSON.stringify(identity.attributes ?? {})
  } catch {
    throw refuse('attributes', 'cannot be stored as JSON')
  }
  if (Buffer.byteLength(attributes) > IDENTITY_LIMITS.attributesBytes)
    throw refuse('attributes', `are larger than ${IDENTITY_LIMITS.attributesBytes} bytes as JSON`)
  return { ...identity, username: normalizeUsername(identity.username) }
}
