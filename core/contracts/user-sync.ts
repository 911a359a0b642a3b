import type { MappedIdentity } from './claim-mapper.ts'
import type { ProviderDefinition } from './provider.ts'

/** A user as user sync sees it. */
export interface StoredUser {
  readonly id: number
  readonly username: string
  readonly firstName: string | undefined
  readonly lastName: string | undefined
  readonly email: string | undefined
  readonly emailVerified: boolean
  readonly roles: readonly string[]
  readonly attributes: Readonly<Record<string, unknown>>
  /** Disabled by an administrator: every sign-in is refused with USER_DISABLED. */
  readonly disabled?: boolean
}

/**
 * The user store, bound to the one database transaction of a sign-in: all of
 * it is written, or none of it.
 */
export interface UserStore {
  findByIdentity(issuer: string, subject: string): Promise<StoredUser | undefined>
  findByUsername(username: string): Promise<StoredUser | undefined>
  createUser(user: UserFields & { username: string }): Promise<StoredUser>
  updateUser(id: number, changes: UserFields): Promise<void>
  linkIdentity(userId: number, identity: { issuer: string; subject: string; provider: string }): Promise<void>
  /** Records a sign-in through an identity. */
  touchIdentity(issuer: string, subject: string): Promise<void>
  /**
   * Makes the user's roles exactly `names`. Unknown names are created as
   * system roles when `createUnknown`, else ignored. With `source`, only the
   * roles that came from that source change, and new ones are recorded as
   * coming from it; with `recordSource` alone, every role may change and new
   * ones are recorded as coming from it. Returns the user's roles afterwards.
   */
  setRoles(
    userId: number,
    names: readonly string[],
    options: { createUnknown: boolean; source?: string | undefined; recordSource?: string | undefined },
  ): Promise<string[]>
}

/** The fields user sync may write. */
export interface UserFields {
  firstName?: string | undefined
  lastName?: string | undefined
  email?: string | undefined
  emailVerified?: boolean
  /** Merged into the user's attributes. */
  attributes?: Record<string, unknown>
}

/** Why user sync refused; shown to the user as a neutral message. */
export type UserSyncRefusal = 'USER_UNKNOWN' | 'USERNAME_TAKEN'

/**
 * Creates or refreshes the OTPKI user for a mapped identity. Throw an
 * `OtpkiError` with a {@link UserSyncRefusal} code to refuse.
 */
export interface UserSync {
  sync(identity: MappedIdentity, provider: ProviderDefinition, store: UserStore): Promise<StoredUser>
}
