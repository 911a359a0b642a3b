import {
  OtpkiError,
  type MappedIdentity,
  type ProviderDefinition,
  type StoredUser,
  type SyncMode,
  type UserStore,
  type UserSync,
} from '../../core/index.ts'

/** What `legacy` does per field (Keycloak's legacy behaviour): roles at every sign-in, the rest at the first. */
const LEGACY_REFRESHES = new Set(['roles'])

/** Does an existing user get this field at this sign-in? */
export function refreshes(field: string, identity: MappedIdentity, provider: ProviderDefinition): boolean {
  const mode: SyncMode = identity.syncModes?.[field] ?? provider.syncMode
  if (mode === 'force') return true
  if (mode === 'import') return false
  return LEGACY_REFRESHES.has(field)
}

/** A free username for a new identity whose wanted one is taken (`usernameCollision: suffix`). */
async function freeUsername(store: UserStore, wanted: string): Promise<string> {
  for (let n = 2; n < 1000; n++) {
    const candidate = `${wanted}-${n}`
    if (!(await store.findByUsername(candidate))) return candidate
  }
  throw new OtpkiError('USERNAME_TAKEN', `no free username for ${wanted}`)
}

/**
 * The OTPKI default user sync. An identity is found by (issuer, subject),
 * never by username or email. At the first sign-in the user is created
 * (`createUnknownUsers`); a taken username is refused, or suffixed with
 * `usernameCollision: suffix`, but never signed in as the existing user. On
 * later sign-ins, first name, last name, roles and attributes are refreshed
 * as the sync mode says (`force` by default); username and email never change.
 * Roles change only when the provider sent the roles claim.
 */
export const defaultUserSync: UserSync = {
  async sync(identity: MappedIdentity, provider: ProviderDefinition, store: UserStore): Promise<StoredUser> {
    let user = await store.findByIdentity(identity.issuer, identity.subject)
    const roleSource = provider.roleSyncScope === 'provider' ? provider.name : undefined
    if (!user) {
      if (!provider.createUnknownUsers) {
        throw new OtpkiError(
          'USER_UNKNOWN',
          `no user for ${identity.issuer} / ${identity.subject} and createUnknownUsers is off`,
          {
            publicMessage: `There is no OTPKI account for you yet, and accounts are not created automatically for ${provider.displayName}. Please contact an administrator.`,
          },
        )
      }
      let username = identity.username
      if (await store.findByUsername(username)) {
        if (provider.usernameCollision !== 'suffix') {
          throw new OtpkiError('USERNAME_TAKEN', `username ${username} already belongs to another account`, {
            publicMessage: `The username "${username}" already belongs to another OTPKI account. Please contact an administrator.`,
          })
        }
        username = await freeUsername(store, username)
      }
      user = await store.createUser({
        username,
        firstName: identity.firstName,
        lastName: identity.lastName,
        email: identity.email,
        emailVerified: identity.emailVerified,
        attributes: identity.attributes,
      })
      await store.linkIdentity(user.id, { issuer: identity.issuer, subject: identity.subject, provider: provider.name })
      if (identity.roles !== undefined)
        await store.setRoles(user.id, identity.roles, {
          createUnknown: provider.createUnknownRoles,
          source: roleSource,
          recordSource: provider.name,
        })
    } else {
      if (user.disabled) {
        throw new OtpkiError('USER_DISABLED', `user ${user.username} is disabled`, {
          publicMessage: 'Your OTPKI account is disabled. Please contact an administrator.',
        })
      }
      const changes: Parameters<UserStore['updateUser']>[1] = {}
      if (refreshes('firstName', identity, provider)) changes.firstName = identity.firstName
      if (refreshes('lastName', identity, provider)) changes.lastName = identity.lastName
      const attributes = Object.fromEntries(
        Object.entries(identity.attributes).filter(([key]) => refreshes(`attributes.${key}`, identity, provider)),
      )
      if (Object.keys(attributes).length > 0) changes.attributes = attributes
      await store.updateUser(user.id, changes)
      await store.touchIdentity(identity.issuer, identity.subject)
      if (identity.roles !== undefined && refreshes('roles', identity, provider)) {
        await store.setRoles(user.id, identity.roles, {
          createUnknown: provider.createUnknownRoles,
          source: roleSource,
          recordSource: provider.name,
        })
      }
    }
    return (await store.findByIdentity(identity.issuer, identity.subject))!
  },
}
