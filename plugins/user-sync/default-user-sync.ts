import { OtpkiError, type MappedIdentity, type ProviderDefinition, type StoredUser, type UserStore, type UserSync } from '../../core/index.ts'

/**
 * The OTPKI default user sync. An identity is found by (issuer, subject),
 * never by username or email. At the first sign-in the user is created
 * (`createUnknownUsers`) unless the username is taken, which is refused. Every
 * sign-in refreshes first name, last name and, when the provider sent the
 * roles claim, the roles; username and everything else stay as they are.
 */
export const defaultUserSync: UserSync = {
  async sync(identity: MappedIdentity, provider: ProviderDefinition, store: UserStore): Promise<StoredUser> {
    let user = await store.findByIdentity(identity.issuer, identity.subject)
    if (!user) {
      if (!provider.createUnknownUsers) {
        throw new OtpkiError('USER_UNKNOWN', `no user for ${identity.issuer} / ${identity.subject} and createUnknownUsers is off`, {
          status: 403,
          publicMessage: `There is no OTPKI account for you yet, and accounts are not created automatically for ${provider.displayName}. Please contact an administrator.`,
        })
      }
      if (await store.findByUsername(identity.username)) {
        throw new OtpkiError('USERNAME_TAKEN', `username ${identity.username} already belongs to another account`, {
          status: 409,
          publicMessage: `The username "${identity.username}" already belongs to another OTPKI account. Please contact an administrator.`,
        })
      }
      user = await store.createUser({
        username: identity.username,
        firstName: identity.firstName,
        lastName: identity.lastName,
        email: identity.email,
        emailVerified: identity.emailVerified,
      })
      await store.linkIdentity(user.id, { issuer: identity.issuer, subject: identity.subject, provider: provider.name })
    } else {
      await store.updateUser(user.id, { firstName: identity.firstName, lastName: identity.lastName })
      await store.touchIdentity(identity.issuer, identity.subject)
    }
    if (identity.roles !== undefined) {
      await store.setRoles(user.id, identity.roles, { createUnknown: provider.createUnknownRoles })
    }
    return (await store.findByIdentity(identity.issuer, identity.subject))!
  },
}
